"""One harvest: source -> parse -> classify -> tag -> store, batch by batch.

Each batch is parsed, classified and tagged outside any transaction, then its rows
and the source's checkpoint are written in one short write transaction. A crash
between two batches therefore loses nothing and duplicates nothing: the next run
resumes from the last committed checkpoint, and the unique (source, external id)
key skips anything stored already.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from harvester.app import App
from harvester.classify import classify
from harvester.errors import ConfigError, HarvesterError, ItemError, RateLimited, SourceError
from harvester.logs import redact
from harvester.parse import parse_item
from harvester.records import Batch, Classification, Problem, RawItem, Story, Tag
from sources import open_source
from store import queries
from store.models import HarvestRun, Quarantined, RawItemRow, Retweet, TagRow, utcnow
from store.models import Story as StoryRow

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """Counts of one run of one source, as shown on the summary line and in ``harvester runs``."""

    source: str
    run_id: int | None = None
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: int = 0
    retweets: int = 0
    status: str = "ok"
    error: str | None = None
    invalid_config: bool = False

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def line(self) -> str:
        text = (
            f"{self.source}: fetched {self.fetched}, new {self.new}, duplicates {self.duplicates}, "
            f"quarantined {self.quarantined}, errors {self.errors}"
        )
        if self.retweets:
            text += f", retweets linked {self.retweets}"
        if self.error:
            text += f" ({self.status}: {self.error})"
        return text


@dataclass
class Outcome:
    """The result of one raw item: a story with tags, a retweet, or a quarantined item."""

    raw: RawItem
    story: Story | None
    classification: Classification
    tags: list[Tag] = field(default_factory=list)


def decide(raw: RawItem) -> Outcome:
    """Parse and classify one raw item; an unreadable item becomes a quarantine outcome."""
    try:
        story = parse_item(raw)
    except ItemError as error:
        return Outcome(raw, None, Classification("unreadable", str(error)))
    if raw.attachments_dropped:
        story.defects.append(f"attachments dropped: the message is larger than the size limit ({raw.size} bytes)")
    return Outcome(raw, story, classify(story))


def problem_item(problem: Problem, fetched_at: Any) -> RawItem:
    """Turn an item a source could not read into a raw item, so it is kept in quarantine."""
    external_id = problem.external_id
    if external_id is None:
        digest = hashlib.sha256(problem.origin.encode() + b"\0" + problem.payload).hexdigest()[:32]
        external_id = f"problem:{digest}"
    return RawItem(problem.source, problem.kind, external_id, problem.payload, fetched_at, origin=problem.origin)


def tag_outcomes(app: App, outcomes: Sequence[Outcome]) -> None:
    """Tag the stories among ``outcomes`` in one ``nlp.pipe`` pass."""
    stories = [outcome for outcome in outcomes if outcome.story is not None and outcome.classification.is_story]
    if not stories:
        return
    for outcome, tags in zip(stories, app.tagger.tag([outcome.story for outcome in stories])):
        outcome.tags = list(tags)


def story_values(outcome: Outcome, raw_id: int, content_hash: str | None) -> dict[str, Any]:
    """Return the column values of the stories row for an outcome classified as a story."""
    story = outcome.story
    assert story is not None
    references = {
        key: value
        for key, value in {
            "in_reply_to": story.in_reply_to,
            "references": story.references or None,
            "quoted": story.quoted,
            "retweet_of": story.retweet_of,
        }.items()
        if value
    }
    return {
        "source": story.source,
        "external_id": story.external_id,
        "raw_item_id": raw_id,
        "kind": story.kind,
        "author_name": story.author_name,
        "author_handle": story.author_handle,
        "author_email": story.author_email,
        "subject": story.subject,
        "text": story.text,
        "html": story.html,
        "url": story.url,
        "language": story.language,
        "conversation_id": story.conversation_id,
        "references": references,
        "defects": list(story.defects),
        "created_at": story.created_at,
        "classification": outcome.classification.kind,
        "classification_reason": outcome.classification.reason,
        "content_hash": content_hash,
        "status": "pending",
        # Every row of one INSERT needs the same keys: SQLAlchemy builds the statement
        # from the first row and drops keys that only later rows have.
        "duplicate_of_id": None,
    }


def story_row(outcome: Outcome, raw_id: int, content_hash: str | None) -> StoryRow:
    """Build the stories row, with its tags, for an outcome classified as a story."""
    row = StoryRow(**story_values(outcome, raw_id, content_hash))
    row.tags = [
        TagRow(kind=tag.kind, text=tag.text, name=tag.name, start=tag.start, end=tag.end, method=tag.method)
        for tag in outcome.tags
    ]
    return row


@dataclass(eq=False)
class PendingTag:
    """A tag about to be inserted: linking sets its person and training ids first."""

    kind: str
    text: str
    name: str | None
    start: int
    end: int
    method: str
    person_id: int | None = None
    training_id: int | None = None


@dataclass(eq=False)
class PendingStory:
    """A story about to be inserted, shaped like a stories row for the linking code."""

    values: dict[str, Any]
    tags: list[PendingTag]
    id: int | None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome, raw_id: int, content_hash: str | None) -> PendingStory:
        tags = [PendingTag(tag.kind, tag.text, tag.name, tag.start, tag.end, tag.method) for tag in outcome.tags]
        return cls(story_values(outcome, raw_id, content_hash), tags)


def _quarantine_row(outcome: Outcome, raw_id: int) -> Quarantined:
    story = outcome.story
    author = None
    if story is not None:
        author = story.author_email or (f"@{story.author_handle}" if story.author_handle else story.author_name)
    return Quarantined(
        source=outcome.raw.source,
        external_id=outcome.raw.external_id,
        raw_item_id=raw_id,
        kind=outcome.classification.kind,
        reason=outcome.classification.reason,
        origin=outcome.raw.origin,
        author=author,
        subject=story.subject if story is not None else None,
    )


def store_outcomes(session: Any, source: str, outcomes: Sequence[Outcome], run: RunSummary) -> list[int]:
    """Insert the outcomes not stored yet, with their tags linked to people and training.

    New, duplicate and quarantined counts go into ``run``. Return the ids of the
    stories inserted, duplicates included.
    """
    raw_rows = [
        {
            "source": source,
            "external_id": outcome.raw.external_id,
            "kind": outcome.raw.kind,
            "payload": outcome.raw.payload,
            "origin": outcome.raw.origin,
            "size": outcome.raw.size,
            "attachments_dropped": outcome.raw.attachments_dropped,
            "fetched_at": outcome.raw.fetched_at,
            "received_at": outcome.raw.received_at,
        }
        for outcome in outcomes
    ]
    inserted = queries.insert_ignoring_conflicts(
        session, RawItemRow, raw_rows, returning=(RawItemRow.id, RawItemRow.external_id)
    )
    raw_ids = {external_id: raw_id for raw_id, external_id in inserted}
    run.duplicates += len(outcomes) - len(raw_ids)

    fresh = [outcome for outcome in outcomes if outcome.raw.external_id in raw_ids]
    hashes = {
        id(outcome): queries.content_hash(outcome.story.text)
        for outcome in fresh
        if outcome.story is not None and outcome.classification.is_story
    }
    known = queries.stories_by_hash(session, hashes.values())

    stories: list[PendingStory] = []
    # The first story of each hash in this batch, and the later copies that must point
    # at it once the insert has given it an id.
    first_in_batch: dict[str, PendingStory] = {}
    copies: list[tuple[PendingStory, PendingStory]] = []
    for outcome in fresh:
        raw_id = raw_ids[outcome.raw.external_id]
        kind = outcome.classification.kind
        if kind == "story":
            digest = hashes.get(id(outcome))
            pending = PendingStory.from_outcome(outcome, raw_id, digest)
            original_id = known.get(digest) if digest else None
            if digest and original_id is None and digest in first_in_batch:
                copies.append((pending, first_in_batch[digest]))
                run.duplicates += 1
            elif original_id is not None:
                pending.values.update(_duplicate_values(original_id))
                run.duplicates += 1
            else:
                run.new += 1
                if digest:
                    first_in_batch[digest] = pending
            stories.append(pending)
        elif kind == "retweet" and outcome.story is not None:
            story = outcome.story
            session.add(
                Retweet(
                    source=source,
                    external_id=story.external_id,
                    original_external_id=story.retweet_of or "unknown",
                    raw_item_id=raw_id,
                    author_handle=story.author_handle,
                    created_at=story.created_at,
                )
            )
            run.retweets += 1
        else:
            session.add(_quarantine_row(outcome, raw_id))
            run.quarantined += 1
    # Linking comes before the insert, so each tag goes in with its person and training
    # ids and no tag row is updated afterwards.
    link_entities(session, stories)
    session.flush()
    copy_ids = {id(copy) for copy, _ in copies}
    _insert_stories(session, [story for story in stories if id(story) not in copy_ids])
    for copy, original in copies:
        copy.values.update(_duplicate_values(original.id))
    _insert_stories(session, [copy for copy, _ in copies])
    return [story.id for story in stories]


def _duplicate_values(original_id: int | None) -> dict[str, Any]:
    return {
        "classification": "duplicate",
        "classification_reason": f"same text as story {original_id}",
        "status": "duplicate",
        "duplicate_of_id": original_id,
    }


def _insert_stories(session: Any, stories: Sequence[PendingStory]) -> None:
    if not stories:
        return
    # Two plain Core statements per batch, because the ORM's unit of work and its bulk
    # path both add work per row that these rows do not need.
    table = StoryRow.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.scalars(statement, [story.values for story in stories]).all()
    tags = []
    for story, story_id in zip(stories, ids, strict=True):
        story.id = story_id
        tags += [{"story_id": story_id, **vars(tag)} for tag in story.tags]
    if tags:
        session.execute(insert(TagRow.__table__), tags)


def link_entities(session: Any, stories: Sequence[StoryRow | PendingStory]) -> None:
    """Link person tags to people rows and training tags to training rows."""
    if not stories:
        return
    from harvester.tagging import link_people, link_training

    link_people(session, stories)
    link_training(session, stories)


class Harvest:
    """A run of one source. ``run()`` records a source failure in the summary instead of raising it."""

    def __init__(self, app: App, source_name: str, *, trigger: str = "manual", stop: threading.Event | None = None,
                 on_batch: Callable[[RunSummary], None] | None = None) -> None:
        self.app = app
        self.source_name = source_name
        self.trigger = trigger
        self.stop = stop
        self.on_batch = on_batch
        self.summary = RunSummary(source_name)

    def run(self) -> RunSummary:
        db = self.app.db
        with db.write() as session:
            self.summary.run_id = queries.start_run(session, self.source_name, self.trigger).id
        log.info("run %s of source %s started", self.summary.run_id, self.source_name)

        source = None
        try:
            source = open_source(self.app.config, self.source_name)
            with db.read() as session:
                checkpoint = queries.load_checkpoint(session, self.source_name)
            for batch in source.fetch(checkpoint):
                self._store_batch(batch)
                self._after_commit(source, batch)
                if self.stop is not None and self.stop.is_set():
                    self.summary.status = "stopped"
                    log.info("source %s: stop requested, ending after the committed batch", self.source_name)
                    break
        except RateLimited as error:
            self.summary.status = "rate_limited"
            self.summary.error = redact(str(error))
            log.warning("%s", error)
        except HarvesterError as error:
            self.summary.status = "failed"
            self.summary.error = redact(str(error))
            self.summary.errors += 1
            self.summary.invalid_config = isinstance(error, ConfigError)
            log.error("source %s failed: %s", self.source_name, error)
        except Exception as error:
            # A bug, not a source fault: record the failure for status and alerts, then re-raise.
            self.summary.status = "failed"
            self.summary.error = f"unexpected {type(error).__name__}: {redact(str(error))}"
            self.summary.errors += 1
            log.exception("source %s failed unexpectedly", self.source_name)
            raise
        finally:
            if source is not None:
                try:
                    source.close()
                except Exception as error:  # closing must not hide the run's own result
                    log.warning("source %s: closing failed: %s", self.source_name, error)
            self._finish()
        return self.summary

    def _store_batch(self, batch: Batch) -> None:
        summary = self.summary
        summary.fetched += len(batch.items) + len(batch.problems)
        now = utcnow()
        unreadable: dict[str, Problem] = {}
        for problem in batch.problems:
            log.warning("source %s: %s: %s", self.source_name, problem.origin, problem.reason)
            unreadable[problem_item(problem, now).external_id] = problem
        items = list(batch.items) + [problem_item(problem, now) for problem in batch.problems]

        # Skip work for items stored by an earlier run before spending time on NLP.
        with self.app.db.read() as session:
            stored = queries.existing_external_ids(session, self.source_name, (item.external_id for item in items))
        outcomes = []
        seen: set[str] = set()
        for item in items:
            if item.external_id in stored or item.external_id in seen:
                summary.duplicates += 1
                continue
            seen.add(item.external_id)
            problem = unreadable.get(item.external_id)
            if problem is not None:
                outcomes.append(Outcome(item, None, Classification(problem.verdict, problem.reason)))
                summary.errors += problem.verdict == "unreadable"
            else:
                outcomes.append(decide(item))
        tag_outcomes(self.app, outcomes)

        with self.app.db.write() as session:
            store_outcomes(session, self.source_name, outcomes, summary)
            if batch.checkpoint is not None:
                queries.save_checkpoint(session, self.source_name, batch.checkpoint)
            self._write_counts(session)
        if self.on_batch is not None:
            self.on_batch(summary)

    def _after_commit(self, source: Any, batch: Batch) -> None:
        try:
            source.after_commit(batch)
        except SourceError as error:
            log.warning("%s", error)
            self.summary.errors += 1

    def _write_counts(self, session: Any, *, finished: bool = False) -> None:
        run = session.get(HarvestRun, self.summary.run_id)
        summary = self.summary
        run.fetched, run.new, run.duplicates = summary.fetched, summary.new, summary.duplicates
        run.quarantined, run.errors = summary.quarantined, summary.errors
        if finished:
            run.status = summary.status
            run.error = summary.error
            run.finished_at = utcnow()

    def _finish(self) -> None:
        try:
            with self.app.db.write() as session:
                self._write_counts(session, finished=True)
        except Exception as error:
            log.error("source %s: could not record the end of run %s: %s", self.source_name, self.summary.run_id, error)
        log.info("run %s finished: %s", self.summary.run_id, self.summary.line())


def harvest(app: App, source_name: str, *, trigger: str = "manual", stop: threading.Event | None = None,
            on_batch: Callable[[RunSummary], None] | None = None) -> RunSummary:
    """Run one pass of one source and return its summary; failures are in the summary."""
    return Harvest(app, source_name, trigger=trigger, stop=stop, on_batch=on_batch).run()


def harvest_all(app: App, names: Sequence[str] | None = None, **options: Any) -> list[RunSummary]:
    """Run each named source (default: every enabled one) in turn; one failure does not stop the rest."""
    chosen = list(names) if names else app.config.enabled_sources()
    return [harvest(app, name, **options) for name in chosen]
