"""Benchmark stages over a filled store: the review queue page and the export.

``queue``: the queue page's server time, measured around each request to the
review app run in-process with Starlette's TestClient (no network, no browser).
Requests cycle through four page kinds: the first page of pending stories, the
next page along the keyset cursor chain, a person filter and a training filter.
A free-text search is timed separately because it scans rows by design.

``export``: one JSON Feed export of every story. Before it runs, the stage marks
every story approved with consent given (the export writes only those), so the
export writes all of them.

Run one by hand with ``python -m benchmarks.web queue --database URL``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from benchmarks.measure import Stopwatch, peak_rss_mib, print_result, rss_mib
from harvester.app import App
from harvester.config import config_from_dict

CURATOR_EMAIL = "bench-curator@example.org"
CURATOR_PASSWORD = "benchmark password 2026"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def _summary(milliseconds: list[float]) -> dict[str, Any]:
    return {
        "requests": len(milliseconds),
        "median_ms": round(statistics.median(milliseconds), 1),
        "p95_ms": round(_percentile(milliseconds, 0.95), 1),
        "max_ms": round(max(milliseconds), 1),
    }


def _logged_in_client(app: App) -> Any:
    from fastapi.testclient import TestClient

    from harvester.review import create_app
    from harvester.review.accounts import add_curator, authenticate
    from harvester.review.security import SESSION_COOKIE

    os.environ.setdefault(
        "HARVESTER_SECRET_KEY", "benchmark-only-session-key-" + "x" * 32
    )
    api = create_app(app)
    add_curator(app.db, CURATOR_EMAIL, CURATOR_PASSWORD, role="curator")
    result = authenticate(app.db, CURATOR_EMAIL, CURATOR_PASSWORD)
    if result is None:
        raise SystemExit(
            "the benchmark curator could not log in; check harvester.review.accounts"
        )
    curator, password_hash = result
    token, _ = api.state.review.codec.issue(curator.id, password_hash)
    client = TestClient(api, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _common_tag(app: App, kind: str) -> str:
    from store.models import TagRow

    with app.db.read() as session:
        name = session.scalar(
            select(TagRow.name)
            .where(TagRow.kind == kind, TagRow.name.is_not(None))
            .group_by(TagRow.name)
            .order_by(func.count().desc())
            .limit(1)
        )
    return name or "Amara"


def _timed_get(client: Any, url: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(
            f"GET {url} returned HTTP {response.status_code}: {response.text[:300]}"
        )
    return elapsed, response


def measure_queue(database_url: str, requests: int) -> dict[str, Any]:
    """Time ``requests`` queue page requests, plus a few free-text searches."""
    from harvester.review.queue import PAGE_SIZE, Cursor, QueueFilters, fetch_queue
    from store.models import Story

    app = App.from_config(config_from_dict({"database": database_url}))
    client = _logged_in_client(app)
    with app.db.read() as session:
        stories = session.scalar(select(func.count()).select_from(Story)) or 0
    person, training = _common_tag(app, "person"), _common_tag(app, "training")
    _timed_get(
        client, "/queue?status=pending"
    )  # templates compile on the first request

    kinds = {
        "first_page": "/queue?status=pending",
        "person_filter": "/queue?status=pending&person=" + person,
        "training_filter": "/queue?status=pending&training=" + training,
    }
    timings: dict[str, list[float]] = {name: [] for name in [*kinds, "next_page"]}
    cursor: Cursor | None = None
    for number in range(requests):
        kind = list(timings)[number % len(timings)]
        if kind == "next_page":
            if cursor is None:
                with app.db.read() as session:
                    cursor = fetch_queue(
                        session, QueueFilters(status="pending")
                    ).next_cursor
            url = (
                f"/queue?status=pending&after={cursor.encode()}"
                if cursor
                else kinds["first_page"]
            )
            elapsed, _ = _timed_get(client, url)
            with app.db.read() as session:
                cursor = fetch_queue(
                    session, QueueFilters(status="pending"), cursor
                ).next_cursor
        else:
            elapsed, _ = _timed_get(client, kinds[kind])
        timings[kind].append(elapsed)

    searches = [
        _timed_get(client, "/queue?status=pending&q=feedback+routine")[0]
        for _ in range(10)
    ]
    everything = [value for values in timings.values() for value in values]
    return {
        "stories": stories,
        "page_size": PAGE_SIZE,
        "all": _summary(everything),
        "by_kind": {kind: _summary(values) for kind, values in timings.items()},
        "text_search": _summary(searches),
        "peak_rss_mib": peak_rss_mib(),
    }


def measure_export(database_url: str) -> dict[str, Any]:
    """Mark every story publishable, then time one JSON Feed export of all of them."""
    from harvester.export.feeds import write_feed
    from store.models import Story

    app = App.from_config(config_from_dict({"database": database_url}))
    with app.db.write() as session:
        session.execute(update(Story).values(status="approved", consent="given"))
    rss_before = rss_mib()

    with tempfile.TemporaryDirectory(prefix="harvester-export-") as folder:
        path = Path(folder) / "feed.json"
        timer = Stopwatch()
        with timer.running(), path.open("w", encoding="utf-8") as out:
            summary = write_feed(app.db, "jsonfeed", out)
        size = path.stat().st_size
    app.close()
    return {
        "format": "jsonfeed",
        "items": summary.items,
        "held": len(summary.held),
        "bytes": size,
        "export": timer.rates(summary.items),
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=["queue", "export"])
    parser.add_argument(
        "--database",
        required=True,
        help="SQLAlchemy URL of a store filled by a harvest",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="queue page requests to time (queue only)",
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if arguments.stage == "queue":
        print_result(measure_queue(arguments.database, arguments.requests))
    else:
        print_result(measure_export(arguments.database))


if __name__ == "__main__":
    main()
