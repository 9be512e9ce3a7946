"""``harvester export``: write a feed of approved stories, in full or since a date.

Each run is recorded in the ``exports`` table, so ``--since LAST`` writes only what
changed after the previous export of the same format. The run start time is recorded,
so a story changed while the export runs is written again by the next one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from harvester.errors import UsageError
from harvester.export.items import (
    decide,
    erased_keys,
    mark_released,
    story_item,
    stream_stories,
    tombstone,
)
from harvester.export.writers import FORMATS, FeedInfo, open_writer
from store.db import Database
from store.models import ExportRecord

log = logging.getLogger(__name__)


@dataclass
class ExportSummary:
    """Counts of one export run, and the stories the privacy guard held back."""

    format: str
    since: datetime | None
    target: str | None
    items: int = 0
    deletions: int = 0
    held: list[tuple[int, list[str]]] = field(default_factory=list)


def parse_since(value: str | None, last_export: datetime | None) -> datetime | None:
    """Turn ``--since`` into a UTC time: ``LAST``, an ISO date, or an ISO date and time.

    ``LAST`` with no earlier export means a full export. A date means midnight UTC,
    and a time without an offset is taken as UTC.
    """
    if value is None:
        return None
    if value.strip().upper() == "LAST":
        return last_export
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), time.min)
        except ValueError:
            raise UsageError(
                f"invalid --since value {value!r}: use LAST, a date such as 2024-05-01, "
                "or a date and time such as 2024-05-01T09:30:00+01:00"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def last_export_time(db: Database, format: str) -> datetime | None:
    with db.read() as session:
        query = select(ExportRecord.exported_at).where(ExportRecord.format == format)
        return session.scalars(
            query.order_by(ExportRecord.exported_at.desc()).limit(1)
        ).first()


def write_feed(
    db: Database,
    format: str,
    out: TextIO,
    *,
    since: datetime | None = None,
    info: FeedInfo | None = None,
    target: str | None = None,
) -> ExportSummary:
    """Write the feed to ``out`` and record the run; return what it wrote and held back.

    Stories written for the first time get ``released_at``, so taking them back later
    emits a deletion.
    """
    if format not in FORMATS:
        raise UsageError(
            f"unknown export format {format!r}: use one of {', '.join(FORMATS)}"
        )
    started = datetime.now(timezone.utc)
    writer = open_writer(format, out, info or FeedInfo(updated=started))
    summary = ExportSummary(format=format, since=since, target=target)
    first_release: list[int] = []
    log.info(
        "export %s started (since %s)",
        format,
        since.isoformat() if since else "the start",
    )

    with db.read() as session:
        writer.begin()
        for story in stream_stories(session, since):
            decision = decide(story)
            if decision.action == "upsert":
                writer.write_item(story_item(story))
                summary.items += 1
                if story.released_at is None:
                    first_release.append(story.id)
            elif decision.action == "delete":
                writer.write_deletion(tombstone(story))
                summary.deletions += 1
            elif decision.action == "hold":
                summary.held.append((story.id, decision.reasons))
                log.warning(
                    "story %s held back from export: %s",
                    story.id,
                    "; ".join(decision.reasons),
                )
        for deletion in erased_keys(session, since):
            writer.write_deletion(deletion)
            summary.deletions += 1
        writer.end()
    out.flush()

    with db.write() as session:
        mark_released(session, first_release, started)
        session.add(
            ExportRecord(
                format=format,
                since=since,
                exported_at=started,
                count=summary.items + summary.deletions,
                target=target,
            )
        )
    log.info(
        "export %s finished: %d items, %d deletions, %d held back",
        format,
        summary.items,
        summary.deletions,
        len(summary.held),
    )
    return summary


def export_to_file(
    db: Database,
    format: str,
    path: Path,
    *,
    since: datetime | None = None,
    info: FeedInfo | None = None,
) -> ExportSummary:
    """Write the feed to ``path`` through a temporary file, so a failed run leaves the old file."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            summary = write_feed(
                db, format, out, since=since, info=info, target=str(path)
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return summary
