"""The quarantine view, and releasing a quarantined item into the queue as a story."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from harvester.records import Classification, RawItem
from harvester.review.accounts import CuratorInfo
from harvester.review.actions import record_event
from harvester.review.decisions import NotFoundError, ReviewError
from harvester.review.queue import Cursor
from store import queries
from store.db import Database
from store.models import Quarantined, RawItemRow, Story, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuarantineRow:
    id: int
    source: str
    kind: str
    reason: str
    origin: str
    author: str | None
    subject: str | None
    created_at: datetime
    has_raw_item: bool


@dataclass(frozen=True)
class QuarantinePage:
    rows: list[QuarantineRow]
    next_cursor: Cursor | None


def list_quarantined(
    db: Database, after: Cursor | None = None, limit: int = 50
) -> QuarantinePage:
    """Return unreleased quarantined items, newest first, one keyset page at a time."""
    query = select(Quarantined).where(Quarantined.released_at.is_(None))
    if after is not None:
        query = query.where(
            tuple_(Quarantined.created_at, Quarantined.id)
            < tuple_(after.created_at, after.id)
        )
    query = query.order_by(Quarantined.created_at.desc(), Quarantined.id.desc()).limit(
        limit + 1
    )
    with db.read() as session:
        items = list(session.scalars(query))
        rows = [
            QuarantineRow(
                item.id,
                item.source,
                item.kind,
                item.reason,
                item.origin,
                item.author,
                item.subject,
                item.created_at,
                item.raw_item_id is not None,
            )
            for item in items[:limit]
        ]
    next_cursor = None
    if len(items) > limit:
        last = rows[limit - 1]
        next_cursor = Cursor(last.created_at, last.id)
    return QuarantinePage(rows, next_cursor)


def _raw_value(row: RawItemRow) -> RawItem:
    return RawItem(
        source=row.source,
        kind=row.kind,
        external_id=row.external_id,  # type: ignore[arg-type]
        payload=row.payload,
        fetched_at=row.fetched_at,
        origin=row.origin,
        received_at=row.received_at,
        size=row.size,
        attachments_dropped=row.attachments_dropped,
    )


def release(db: Database, curator: CuratorInfo, item_id: int) -> int:
    """Parse a quarantined item's raw item again and add it to the queue as a pending story.

    Returns the new story's id. Raises ReviewError when the item has no raw item, cannot
    be parsed, or is already a story.
    """
    try:
        from harvester.pipeline import Outcome, story_row, decide
    except ImportError as error:
        raise ReviewError(
            f"the parser is not available in this installation ({error}): reinstall harvester"
        ) from error

    with db.read() as session:
        item = session.get(Quarantined, item_id)
        if item is None:
            raise NotFoundError(
                f"quarantined item {item_id} not found: it may have been purged"
            )
        if item.released_at is not None:
            raise ReviewError(
                f"quarantined item {item_id} was already released on {item.released_at:%Y-%m-%d}"
            )
        raw_row = (
            session.get(RawItemRow, item.raw_item_id)
            if item.raw_item_id is not None
            else None
        )
        if raw_row is None:
            raise ReviewError(
                f"quarantined item {item_id} has no stored raw item, so it cannot become a story"
            )
        raw = _raw_value(raw_row)
        raw_id = raw_row.id
        quarantine_reason = item.reason

    # Parse outside the write transaction, so the lock is held only for the inserts.
    outcome = decide(raw)
    if outcome.story is None:
        raise ReviewError(
            f"quarantined item {item_id} cannot be parsed: {outcome.classification.reason}"
        )
    reason = f"released from quarantine by {curator.email}; it was quarantined because: {quarantine_reason}"
    released = Outcome(raw, outcome.story, Classification("story", reason))
    # TODO: the new story is stored untagged because loading the spaCy tagger in the web
    # process takes seconds; `harvester retag --source NAME` tags it.
    row = story_row(released, raw_id, queries.content_hash(outcome.story.text))

    with db.write() as session:
        item = session.get(Quarantined, item_id)
        if item is None or item.released_at is not None:
            raise ReviewError(
                f"quarantined item {item_id} was released or purged meanwhile: reload the page"
            )
        existing = session.scalar(
            select(Story.id).where(
                Story.source == row.source, Story.external_id == row.external_id
            )
        )
        if existing is not None:
            raise ReviewError(f"quarantined item {item_id} is already story {existing}")
        session.add(row)
        item.released_at = utcnow()
        session.flush()
        record_event(
            session,
            curator,
            row.id,
            "release",
            {"quarantine_id": item_id, "reason": quarantine_reason},
            {"status": row.status, "story_id": row.id},
        )
        story_id = row.id
    log.info(
        "quarantined item %s released by %s as story %s",
        item_id,
        curator.email,
        story_id,
    )
    return story_id
