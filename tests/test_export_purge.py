"""Retention: ``purge_expired`` removes old rejected stories and quarantined items."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from harvester.config import RetentionSettings
from harvester.export.retention import purge_expired
from store.db import Database
from store.models import AuditEvent, Quarantined, RawItemRow, Story, TagRow
from tests.export_support import add_story

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def add_raw(db: Database, external_id: str) -> int:
    with db.write() as session:
        row = RawItemRow(
            source="inbox",
            external_id=external_id,
            kind="email",
            payload=b"From: a@b.org\r\n\r\nx",
            fetched_at=NOW,
        )
        session.add(row)
        session.flush()
        return row.id


def set_updated(db: Database, story_id: int, when: datetime) -> None:
    with db.write() as session:
        session.execute(
            update(Story).where(Story.id == story_id).values(updated_at=when)
        )


def test_purge_respects_retention(db: Database) -> None:
    retention = RetentionSettings(rejected_days=30, quarantine_days=10)
    old_raw = add_raw(db, "old")
    old = add_story(
        db,
        status="rejected",
        raw_item_id=old_raw,
        tags=[{"kind": "person", "text": "Mr Okafor"}],
    )
    recent = add_story(db, status="rejected")
    approved = add_story(db)
    set_updated(db, old, NOW - timedelta(days=31))
    set_updated(db, recent, NOW - timedelta(days=29))
    set_updated(db, approved, NOW - timedelta(days=400))
    quarantine_raw = add_raw(db, "quarantined")
    with db.write() as session:
        session.add(
            AuditEvent(
                story_id=old,
                action="reject",
                before={"text": "old text"},
                after={"status": "rejected"},
            )
        )
        session.add(
            Quarantined(
                source="inbox",
                external_id="q-old",
                raw_item_id=quarantine_raw,
                kind="email",
                reason="automatic reply",
                created_at=NOW - timedelta(days=11),
            )
        )
        session.add(
            Quarantined(
                source="inbox",
                external_id="q-new",
                kind="email",
                reason="automatic reply",
                created_at=NOW - timedelta(days=9),
            )
        )

    report = purge_expired(db, retention, now=NOW)

    assert (report.stories, report.quarantined, report.raw_items) == (1, 1, 2)
    with db.read() as session:
        assert set(session.scalars(select(Story.id))) == {recent, approved}
        assert list(session.scalars(select(Quarantined.external_id))) == ["q-new"]
        assert session.scalar(select(RawItemRow.id)) is None
        assert session.scalar(select(TagRow.id)) is None
        event = session.scalars(select(AuditEvent)).one()
        assert event.action == "reject"
        assert event.before is None
        assert event.after is None
