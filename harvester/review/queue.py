"""The review queue: filters, keyset pagination on (created_at, id), and row summaries.

Pages are keyed by the last row's (created_at, id) instead of an OFFSET, so page 2,000
costs the same as page 1. With a status filter the query walks the
``ix_stories_status_created`` index, and without one ``ix_stories_created``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from harvester.review.decisions import MAX_ROW_ID, STATUSES, ReviewError
from harvester.review.publication import Publication, publication_state
from store.models import Retweet, Story, TagRow

PAGE_SIZE = 50
SNIPPET_LENGTH = 280
_CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?)Z~(\d{1,19})$")


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row on a page; the next page starts after it."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        moment = self.created_at.astimezone(UTC).replace(tzinfo=None)
        return f"{moment.isoformat()}Z~{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        match = _CURSOR.match(text)
        if not match:
            raise ReviewError(
                f"invalid page cursor {text!r}: go back to the first page"
            )
        try:
            moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
        except ValueError as error:
            raise ReviewError(
                f"invalid page cursor {text!r} ({error}): go back to the first page"
            ) from None
        row_id = int(match.group(2))
        if row_id > MAX_ROW_ID:
            raise ReviewError(
                f"invalid page cursor {text!r} (id larger than {MAX_ROW_ID}): "
                "go back to the first page"
            )
        return cls(moment, row_id)


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, read from and written back to the query string."""

    status: str = "pending"
    source: str = ""
    person: str = ""
    training: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueFilters:
        """Read filters from query parameters; raise ReviewError naming a bad value."""
        values = {
            item.name: (params.get(item.name) or "").strip() for item in fields(cls)
        }
        if "status" not in params:
            values["status"] = "pending"
        filters = cls(**values)
        if filters.status not in ("", "all") and filters.status not in STATUSES:
            raise ReviewError(
                f"invalid status {filters.status!r}: use one of {', '.join(STATUSES)} or all"
            )
        filters.day_range()
        return filters

    @property
    def narrowed(self) -> bool:
        """Whether any filter besides the status tab is set."""
        return any(
            getattr(self, item.name) for item in fields(self) if item.name != "status"
        )

    def to_params(self) -> dict[str, str]:
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if getattr(self, item.name)
        }

    def day_range(self) -> tuple[datetime | None, datetime | None]:
        """Return the UTC start of ``date_from`` and the UTC end of ``date_to``."""
        start = _parse_day(self.date_from, "from")
        end = _parse_day(self.date_to, "to")
        if end == date.max:
            raise ReviewError(
                f"invalid to date {self.date_to!r}: use a date before {date.max.isoformat()}"
            )
        return (
            datetime.combine(start, time(), UTC) if start else None,
            datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        )


def _parse_day(text: str, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReviewError(f"invalid {label} date {text!r}: use YYYY-MM-DD") from None


@dataclass(frozen=True)
class QueueRow:
    """One story as the queue lists it."""

    id: int
    created_at: datetime
    source: str
    kind: str
    status: str
    author: str
    subject: str | None
    snippet: str
    classification: str
    classification_reason: str
    consent: str
    tags: list[tuple[str, str]] = field(default_factory=list)
    retweets: int = 0
    duplicates: int = 0
    publication: Publication | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: Cursor | None


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tag_filter(kind: str, value: str) -> object:
    pattern = _like(value)
    return exists().where(
        TagRow.story_id == Story.id,
        TagRow.kind == kind,
        or_(
            TagRow.name.ilike(pattern, escape="\\"),
            TagRow.text.ilike(pattern, escape="\\"),
        ),
    )


def build_query(filters: QueueFilters, after: Cursor | None, limit: int) -> Select:
    """Return the SELECT for one queue page, sorted newest first."""
    query = select(Story)

    if filters.status and filters.status != "all":
        query = query.where(Story.status == filters.status)
    if filters.source:
        query = query.where(Story.source == filters.source)
    if filters.person:
        query = query.where(_tag_filter("person", filters.person))
    if filters.training:
        query = query.where(_tag_filter("training", filters.training))

    start, end = filters.day_range()
    if start is not None:
        query = query.where(Story.created_at >= start)
    if end is not None:
        query = query.where(Story.created_at < end)

    if filters.q:
        # NOTE: a substring search scans the rows the other filters leave; full-text
        # indexes (SQLite FTS5, PostgreSQL tsvector) would make it fast on large stores.
        pattern = _like(filters.q)
        query = query.where(
            or_(
                Story.text.ilike(pattern, escape="\\"),
                Story.subject.ilike(pattern, escape="\\"),
                Story.author_name.ilike(pattern, escape="\\"),
                Story.author_handle.ilike(pattern, escape="\\"),
            )
        )

    if after is not None:
        query = query.where(
            tuple_(Story.created_at, Story.id) < tuple_(after.created_at, after.id)
        )
    return query.order_by(Story.created_at.desc(), Story.id.desc()).limit(limit + 1)


def fetch_queue(
    session: Session,
    filters: QueueFilters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """Return one page of the queue and the cursor of the next page, if there is one."""
    stories = list(session.scalars(build_query(filters, after, limit)))
    page, more = stories[:limit], len(stories) > limit
    ids = [story.id for story in page]

    tags: dict[int, list[tuple[str, str]]] = {story_id: [] for story_id in ids}
    # Names tagged as pupils, which hold an approved story back (same rule as pupil_names).
    pupils: dict[int, set[str]] = {story_id: set() for story_id in ids}
    duplicates: dict[int, int] = {}
    retweets: dict[str, int] = {}
    if ids:
        tag_rows = session.execute(
            select(TagRow.story_id, TagRow.kind, TagRow.name, TagRow.text, TagRow.pupil)
            .where(TagRow.story_id.in_(ids))
            .order_by(TagRow.story_id, TagRow.start)
        )
        for story_id, kind, name, text, pupil in tag_rows:
            tags[story_id].append((kind, name or text))
            if pupil:
                pupils[story_id].update(value for value in (text, name) if value)
        duplicates = dict(
            session.execute(
                select(Story.duplicate_of_id, func.count())
                .where(Story.duplicate_of_id.in_(ids))
                .group_by(Story.duplicate_of_id)
            ).all()
        )
        tweet_ids = [story.external_id for story in page if story.kind == "tweet"]
        if tweet_ids:
            retweets = dict(
                session.execute(
                    select(Retweet.original_external_id, func.count())
                    .where(Retweet.original_external_id.in_(tweet_ids))
                    .group_by(Retweet.original_external_id)
                ).all()
            )

    rows = [
        QueueRow(
            id=story.id,
            created_at=story.created_at,
            source=story.source,
            kind=story.kind,
            status=story.status,
            author=story_author(story),
            subject=story.subject,
            snippet=_snippet(story.text),
            classification=story.classification,
            classification_reason=story.classification_reason,
            consent=story.consent,
            tags=tags.get(story.id, []),
            retweets=retweets.get(story.external_id, 0) if story.kind == "tweet" else 0,
            duplicates=duplicates.get(story.id, 0),
            publication=publication_state(story, sorted(pupils.get(story.id, ()))),
        )
        for story in page
    ]
    next_cursor = Cursor(page[-1].created_at, page[-1].id) if more else None
    return QueuePage(rows, next_cursor)


def status_counts(session: Session) -> dict[str, int]:
    counts = dict(
        session.execute(select(Story.status, func.count()).group_by(Story.status)).all()
    )
    return {status: counts.get(status, 0) for status in STATUSES}


def known_sources(session: Session) -> list[str]:
    return list(session.scalars(select(Story.source).distinct().order_by(Story.source)))


def story_author(story: Story) -> str:
    if story.author_name and story.author_handle:
        return f"{story.author_name} (@{story.author_handle})"
    if story.author_handle:
        return f"@{story.author_handle}"
    if story.author_name and story.author_email:
        return f"{story.author_name} <{story.author_email}>"
    return story.author_name or story.author_email or "unknown author"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_LENGTH else flat[: SNIPPET_LENGTH - 1] + "…"
