"""``harvester purge``: delete rejected stories and quarantined items past retention.

A rejected story is purged ``retention.rejected_days`` after its last change, and a
quarantined item ``retention.quarantine_days`` after it was quarantined. Their raw
items go too unless another story, quarantined item or retweet still uses them. The
audit events of purged stories keep who decided what and when, but lose the text
they recorded before and after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from harvester.config import RetentionSettings
from harvester.export.publish import take_back
from store.db import Database
from store.models import (
    AuditEvent,
    Quarantined,
    RawItemRow,
    Retweet,
    Story,
    TagRow,
)

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    stories: int = 0
    quarantined: int = 0
    raw_items: int = 0
    deletes_queued: int = 0


def _unused_raw_ids(session: Session, raw_ids: set[int]) -> set[int]:
    """Return the raw item ids among ``raw_ids`` that no remaining row points to."""
    used: set[int] = set()
    for model in (Story, Quarantined, Retweet):
        column = model.raw_item_id
        used.update(session.scalars(select(column).where(column.in_(raw_ids))))
    return raw_ids - used


def purge_expired(
    db: Database, retention: RetentionSettings, *, now: datetime | None = None
) -> PurgeReport:
    """Delete what retention allows and queue DELETE deliveries for anything still on the site."""
    now = now or datetime.now(timezone.utc)
    story_cutoff = now - timedelta(days=retention.rejected_days)
    quarantine_cutoff = now - timedelta(days=retention.quarantine_days)
    report = PurgeReport()

    with db.write() as session:
        stories = list(
            session.scalars(
                select(Story).where(
                    Story.status == "rejected", Story.updated_at < story_cutoff
                )
            )
        )
        story_ids = {story.id for story in stories}
        raw_ids = {
            story.raw_item_id for story in stories if story.raw_item_id is not None
        }
        for story in stories:
            queued, _ = take_back(session, story)
            report.deletes_queued += queued

        session.execute(
            update(AuditEvent)
            .where(AuditEvent.story_id.in_(story_ids))
            .values(
                before=None, after=None, note="story purged after its retention period"
            )
        )
        session.execute(delete(TagRow).where(TagRow.story_id.in_(story_ids)))
        report.stories = session.execute(
            delete(Story).where(Story.id.in_(story_ids))
        ).rowcount

        expired = session.execute(
            select(Quarantined.id, Quarantined.raw_item_id).where(
                Quarantined.created_at < quarantine_cutoff
            )
        ).all()
        raw_ids.update(
            raw_item_id for _, raw_item_id in expired if raw_item_id is not None
        )
        quarantine_ids = [quarantine_id for quarantine_id, _ in expired]
        report.quarantined = session.execute(
            delete(Quarantined).where(Quarantined.id.in_(quarantine_ids))
        ).rowcount

        unused = _unused_raw_ids(session, raw_ids)
        report.raw_items = session.execute(
            delete(RawItemRow).where(RawItemRow.id.in_(unused))
        ).rowcount

    log.info(
        "purge finished: %d rejected stories, %d quarantined items, %d raw items removed; %d deletions queued",
        report.stories,
        report.quarantined,
        report.raw_items,
        report.deletes_queued,
    )
    return report
