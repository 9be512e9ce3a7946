"""Curator writes: decisions, text edits, tag edits, notes and consent, each with its audit event.

Every function opens one short ``Database.write()`` transaction, so the change and
its ``audit_events`` row commit together or not at all. A change to what the
community site would show (text, tags, attribution) bumps ``stories.version``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.errors import UsageError
from harvester.export import consent as consent_rules
from harvester.review import decisions
from harvester.review.accounts import CuratorInfo
from harvester.review.decisions import (
    ConflictError,
    NotFoundError,
    ReviewError,
    TagSpan,
)
from store.db import Database
from store.models import (
    AuditEvent,
    Person,
    PersonAlias,
    Story,
    TagRow,
    Training,
    TrainingAlias,
)

log = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 5000
MAX_BULK = 500


@dataclass
class BulkResult:
    """Stories a bulk decision changed, and why it skipped the others."""

    changed: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def _story(session: Session, story_id: int) -> Story:
    story = session.get(Story, story_id)
    if story is None:
        raise NotFoundError(f"story {story_id} not found: it may have been erased")
    return story


def record_event(
    session: Session,
    curator: CuratorInfo,
    story_id: int | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    note: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            story_id=story_id,
            curator_id=curator.id,
            actor=curator.email,
            action=action,
            before=before,
            after=after,
            note=note,
        )
    )


def tag_snapshot(tag: TagRow) -> dict[str, Any]:
    return {
        "id": tag.id,
        "kind": tag.kind,
        "text": tag.text,
        "name": tag.name,
        "start": tag.start,
        "end": tag.end,
        "method": tag.method,
        "pupil": tag.pupil,
    }


def tag_span(tag: TagRow) -> TagSpan:
    return TagSpan(
        kind=tag.kind,
        start=tag.start,
        end=tag.end,
        text=tag.text,
        name=tag.name,
        id=tag.id,
        pupil=tag.pupil,
        method=tag.method,
    )


def _apply_decision(
    session: Session,
    curator: CuratorInfo,
    story: Story,
    decision: str,
    reason: str | None,
) -> str:
    new_status = decisions.next_status(story.status, decision, reason)
    before = {"status": story.status, "status_reason": story.status_reason}
    story.status = new_status
    story.status_reason = reason.strip() if reason and reason.strip() else None
    record_event(
        session,
        curator,
        story.id,
        decision,
        before,
        {"status": story.status, "status_reason": story.status_reason},
    )
    return new_status


def decide(
    db: Database,
    curator: CuratorInfo,
    story_id: int,
    decision: str,
    reason: str | None = None,
) -> str:
    """Apply approve, reject, needs_consent or reopen to one story; return its new status."""
    with db.write() as session:
        story = _story(session, story_id)
        new_status = _apply_decision(session, curator, story, decision, reason)
    log.info("story %s: %s by %s", story_id, decision, curator.email)
    return new_status


def bulk_decide(
    db: Database,
    curator: CuratorInfo,
    story_ids: Sequence[int],
    decision: str,
    reason: str | None = None,
) -> BulkResult:
    """Apply one decision to many stories in one transaction; stories it cannot apply to are skipped."""
    unique_ids = list(dict.fromkeys(story_ids))
    if not unique_ids:
        raise ReviewError("no stories selected: tick the stories to change first")
    if len(unique_ids) > MAX_BULK:
        raise ReviewError(
            f"{len(unique_ids)} stories selected: a bulk decision takes at most {MAX_BULK}"
        )
    if decision not in decisions.DECISIONS:
        raise ReviewError(
            f"unknown decision {decision!r}: use one of {', '.join(decisions.DECISIONS)}"
        )
    if decision == "reject" and not (reason and reason.strip()):
        raise ReviewError("a rejection needs a reason: type one and try again")

    # An id outside the column's range would overflow the database driver. It cannot
    # match a row, so the loop below reports it as not found.
    queryable_ids = [
        story_id for story_id in unique_ids if decisions.fits_row_id(story_id)
    ]
    result = BulkResult()
    with db.write() as session:
        rows = {
            story.id: story
            for story in session.scalars(select(Story).where(Story.id.in_(queryable_ids)))
        }
        for story_id in unique_ids:
            story = rows.get(story_id)
            if story is None:
                result.skipped[story_id] = "not found"
                continue
            try:
                _apply_decision(session, curator, story, decision, reason)
            except ReviewError as error:
                result.skipped[story_id] = str(error)
                continue
            result.changed.append(story_id)
    log.info(
        "bulk %s by %s: %d changed, %d skipped",
        decision,
        curator.email,
        len(result.changed),
        len(result.skipped),
    )
    return result


def edit_text(
    db: Database,
    curator: CuratorInfo,
    story_id: int,
    new_text: str,
    expected_version: int,
) -> decisions.TagAdjustment:
    """Replace a story's text (for redaction), keeping the first text in ``original_text``.

    Tags move with the text where the edit left them intact, and are deleted where it
    changed them. Raises ConflictError when the story's version is not ``expected_version``.
    """
    text = decisions.validate_story_text(new_text)
    with db.write() as session:
        story = _story(session, story_id)
        if story.version != expected_version:
            raise ConflictError(
                f"story {story_id} changed since you opened it (version {expected_version}, now "
                f"{story.version}): reload the page and edit again"
            )
        if text == story.text:
            return decisions.TagAdjustment(
                kept=[tag_span(tag) for tag in story.tags], dropped=[]
            )

        adjustment = decisions.adjust_tags_for_edit(
            story.text, text, [tag_span(tag) for tag in story.tags]
        )
        moved = {span.id: span for span in adjustment.kept}
        for tag in list(story.tags):
            span = moved.get(tag.id)
            if span is None:
                story.tags.remove(tag)
            else:
                tag.start, tag.end = span.start, span.end

        before = {"text": story.text, "version": story.version}
        if story.original_text is None:
            story.original_text = story.text
        story.text = text
        story.version += 1
        after = {
            "text": text,
            "version": story.version,
            "dropped_tags": [
                {"kind": span.kind, "text": span.text} for span in adjustment.dropped
            ],
        }
        record_event(session, curator, story_id, "edit_text", before, after)
    log.info(
        "story %s: text edited by %s, %d tags dropped",
        story_id,
        curator.email,
        len(adjustment.dropped),
    )
    return adjustment


def add_tag(
    db: Database,
    curator: CuratorInfo,
    story_id: int,
    kind: str,
    phrase: str,
    start: int | None = None,
    name: str | None = None,
    pupil: bool = False,
) -> int:
    """Tag a phrase of the story text as a person or training; return the new tag's id."""
    decisions.validate_tag_kind(kind)
    with db.write() as session:
        story = _story(session, story_id)
        begin, end = decisions.find_phrase(story.text, phrase, start)
        for tag in story.tags:
            if tag.kind == kind and tag.start == begin and tag.end == end:
                raise ReviewError(
                    f"{phrase!r} is already tagged as {kind}: correct that tag instead"
                )
        tag = TagRow(
            kind=kind,
            text=story.text[begin:end],
            start=begin,
            end=end,
            method="curator",
        )
        _link_tag(session, curator, story_id, tag, kind, name, pupil)
        story.tags.append(tag)
        story.version += 1
        session.flush()
        record_event(session, curator, story_id, "add_tag", None, tag_snapshot(tag))
        tag_id = tag.id
    log.info("story %s: tag %s %r added by %s", story_id, kind, phrase, curator.email)
    return tag_id


def remove_tag(db: Database, curator: CuratorInfo, story_id: int, tag_id: int) -> None:
    with db.write() as session:
        story = _story(session, story_id)
        tag = _tag(story, tag_id)
        before = tag_snapshot(tag)
        story.tags.remove(tag)
        story.version += 1
        record_event(session, curator, story_id, "remove_tag", before, None)
    log.info("story %s: tag %s removed by %s", story_id, tag_id, curator.email)


def correct_tag(
    db: Database,
    curator: CuratorInfo,
    story_id: int,
    tag_id: int,
    kind: str,
    name: str | None,
    pupil: bool = False,
) -> None:
    """Change a tag's kind, canonical name or pupil mark; the tag then counts as a curator's."""
    decisions.validate_tag_kind(kind)
    with db.write() as session:
        story = _story(session, story_id)
        tag = _tag(story, tag_id)
        before = tag_snapshot(tag)
        _link_tag(session, curator, story_id, tag, kind, name, pupil)
        tag.method = "curator"
        story.version += 1
        session.flush()
        record_event(
            session, curator, story_id, "correct_tag", before, tag_snapshot(tag)
        )
    log.info("story %s: tag %s corrected by %s", story_id, tag_id, curator.email)


def add_note(db: Database, curator: CuratorInfo, story_id: int, note: str) -> None:
    text = note.strip()
    if not text:
        raise ReviewError("the note is empty: type something first")
    if len(text) > MAX_NOTE_LENGTH:
        raise ReviewError(
            f"the note is longer than {MAX_NOTE_LENGTH} characters: shorten it"
        )
    with db.write() as session:
        _story(session, story_id)
        record_event(session, curator, story_id, "note", None, None, note=text)


def set_consent(
    db: Database, curator: CuratorInfo, story_id: int, consent: str, attribution: str
) -> None:
    """Record the author's consent and chosen attribution, with the export rules."""
    decisions.validate_consent(consent, attribution)
    with db.write() as session:
        story = _story(session, story_id)
        try:
            event = consent_rules.set_consent(
                session, story, consent, attribution, actor=curator.email, curator_id=curator.id
            )
        except UsageError as error:
            raise ReviewError(str(error)) from error
    if event is not None:
        log.info(
            "story %s: consent %s, attribution %s set by %s",
            story_id,
            consent,
            attribution,
            curator.email,
        )


def _tag(story: Story, tag_id: int) -> TagRow:
    for tag in story.tags:
        if tag.id == tag_id:
            return tag
    raise NotFoundError(f"tag {tag_id} not found on story {story.id}: reload the page")


def _link_tag(
    session: Session,
    curator: CuratorInfo,
    story_id: int,
    tag: TagRow,
    kind: str,
    name: str | None,
    pupil: bool,
) -> None:
    """Set a tag's kind and canonical name, and link it to a person or training row."""
    canonical = (name or "").strip() or None
    tag.kind = kind
    if kind == "person":
        tag.name = canonical or tag.text.strip()
        tag.training_id = None
        tag.person_id = _find_person(session, tag.name)
        tag.pupil = pupil
        return

    if canonical is None:
        raise ReviewError(
            "a training tag needs the course or provider name: type it in the name field"
        )
    training = session.scalar(
        select(Training).where(func.lower(Training.name) == canonical.lower())
    )
    if training is None:
        training = Training(name=canonical)
        session.add(training)
        session.flush()
    tag.name = training.name
    tag.training_id = training.id
    tag.person_id = None
    tag.pupil = False
    _teach_alias(
        session, curator, story_id, training, decisions.training_alias(tag.text)
    )


def _find_person(session: Session, name: str) -> int | None:
    lowered = name.lower()
    person_id = session.scalar(
        select(Person.id).where(func.lower(Person.name) == lowered).limit(1)
    )
    if person_id is None:
        person_id = session.scalar(
            select(PersonAlias.person_id)
            .where(func.lower(PersonAlias.alias) == lowered)
            .limit(1)
        )
    return person_id


def _teach_alias(
    session: Session,
    curator: CuratorInfo,
    story_id: int,
    training: Training,
    alias: str,
) -> None:
    """Record ``alias`` as a name of ``training``, so the tagger finds it next time."""
    if not alias or alias.lower() == training.name.lower():
        return
    existing = session.scalar(
        select(TrainingAlias).where(func.lower(TrainingAlias.alias) == alias.lower())
    )
    if existing is not None and existing.training_id == training.id:
        return
    if existing is None:
        session.add(
            TrainingAlias(training_id=training.id, alias=alias, added_by="curator")
        )
        before = None
    else:
        before = {
            "alias": existing.alias,
            "training_id": existing.training_id,
            "added_by": existing.added_by,
        }
        existing.training_id = training.id
        existing.added_by = "curator"
    record_event(
        session,
        curator,
        story_id,
        "training_alias",
        before,
        {
            "alias": alias,
            "training_id": training.id,
            "training": training.name,
            "added_by": "curator",
        },
    )
