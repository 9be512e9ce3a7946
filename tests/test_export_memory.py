"""Feed export streams: peak memory does not grow with the number of stories."""

from __future__ import annotations

import io
import tracemalloc
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from harvester.export.feeds import write_feed
from store.db import Database
from store.models import Story

CREATED = datetime(2024, 3, 1, tzinfo=timezone.utc)


class Sink(io.StringIO):
    """A text stream that counts characters and keeps none."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def add_many(db: Database, start: int, count: int) -> None:
    rows = [
        {
            "source": "x",
            "external_id": str(start + number),
            "kind": "tweet",
            "author_name": "Priya Shah",
            "text": f"Story {start + number}: Mr Okafor made chemistry the best lesson of the week. "
            * 4,
            "created_at": CREATED,
            "updated_at": CREATED,
            "harvested_at": CREATED,
            "status": "approved",
            "consent": "given",
        }
        for number in range(count)
    ]
    with db.write() as session:
        session.execute(insert(Story), rows)


def peak_bytes(db: Database, format: str) -> tuple[int, int]:
    sink = Sink()
    tracemalloc.start()
    try:
        write_feed(db, format, sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sink.size


@pytest.mark.parametrize("format", ["jsonfeed", "atom", "csv"])
def test_export_memory_stays_flat(sqlite_url: str, format: str) -> None:
    db = Database(sqlite_url)
    add_many(db, 0, 1_000)
    small_peak, small_size = peak_bytes(db, format)
    add_many(db, 1_000, 4_000)
    large_peak, large_size = peak_bytes(db, format)
    db.dispose()

    assert large_size > 4 * small_size
    # Rows arrive 500 at a time, so both runs hold at most two batches at once. Five
    # times the stories may cost a little more (the list of newly released ids), but
    # far from five times the memory.
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
