"""Import the public twarc2 JSONL files and the TAGS sheet through the whole pipeline."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from harvester.parse.post import full_text, unescape_text
from harvester.pipeline import harvest
from sources.files import split_page
from store.models import Quarantined, Retweet, Story
from tests.conftest import make_app

pytestmark = pytest.mark.shared_data

V2_FILES = [
    "2sets.jsonl",
    "brexit.jsonl",
    "entities_test.jsonl",
    "flat.jsonl",
    "kpop.jsonl",
    "streaming_output_with_error.jsonl",
    "withheld.jsonl",
]


def expected_posts(path: Path) -> dict[str, dict[str, Any]]:
    """Return id -> split payload for every readable line of a twarc2 file."""
    posts: dict[str, dict[str, Any]] = {}
    for line in path.read_bytes().splitlines():
        try:
            page = json.loads(line)
        except ValueError:
            continue
        for post_id, payload in split_page(page):
            posts.setdefault(post_id, payload)
    return posts


def expected_text(payload: dict[str, Any]) -> str:
    post = payload["data"]
    originals = {item["id"]: item for item in payload["includes"].get("tweets") or []}
    for reference in post.get("referenced_tweets") or []:
        if "text" in reference:
            originals.setdefault(reference["id"], reference)
    for reference in post.get("referenced_tweets") or []:
        if reference.get("type") == "retweeted" and reference["id"] in originals:
            return unescape_text(full_text(originals[reference["id"]]) or "")
    return unescape_text(full_text(post) or "")


def counts(app: Any) -> tuple[int, int, int]:
    with app.db.read() as session:
        stories = session.scalar(select(func.count()).select_from(Story))
        retweets = session.scalar(select(func.count()).select_from(Retweet))
        quarantined = session.scalar(select(func.count()).select_from(Quarantined))
    return stories, retweets, quarantined


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("file_name", V2_FILES)
def test_twarc_file_imports(file_name: str, shared_data: Path, sqlite_url: str) -> None:
    path = shared_data / "tweets" / "v2" / file_name
    expected = expected_posts(path)
    app = make_app(sqlite_url, {"archive": {"type": "twarc", "path": str(path)}})

    first = harvest(app, "archive")
    assert first.status == "ok", first.error
    stories, retweets, quarantined = counts(app)
    assert stories + retweets + quarantined >= len(expected)

    with app.db.read() as session:
        rows = {
            row.external_id: row
            for row in session.execute(
                select(Story.external_id, Story.text, Story.created_at)
            )
        }
        retweet_ids = set(session.scalars(select(Retweet.external_id)))
    for post_id, payload in expected.items():
        post = payload["data"]
        if post_id in rows:
            row = rows[post_id]
            assert row.text == expected_text(payload), post_id
            created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
            assert as_utc(row.created_at) == created, post_id
        else:
            assert post_id in retweet_ids, (
                f"post {post_id} is neither a story nor a retweet"
            )

    second = harvest(app, "archive")
    assert second.new == 0
    assert counts(app) == (stories, retweets, quarantined)
    app.close()


def test_truncated_line_is_reported_and_skipped(
    shared_data: Path, sqlite_url: str
) -> None:
    path = shared_data / "tweets" / "v2" / "streaming_output_with_error.jsonl"
    app = make_app(sqlite_url, {"archive": {"type": "twarc", "path": str(path)}})

    summary = harvest(app, "archive")

    assert summary.status == "ok"
    assert summary.errors == 1
    with app.db.read() as session:
        problems = list(session.execute(select(Quarantined.origin, Quarantined.reason)))
        stored = session.scalar(select(func.count()).select_from(Story))
        stored += session.scalar(select(func.count()).select_from(Retweet))
    assert [problem.origin for problem in problems] == [
        "streaming_output_with_error.jsonl line 8"
    ]
    assert "invalid JSON" in problems[0].reason
    assert stored == len(expected_posts(path))
    app.close()


def test_tags_sheet_imports(shared_data: Path, sqlite_url: str) -> None:
    path = shared_data / "tweets" / "tags_sheet" / "sample-data.csv"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    app = make_app(sqlite_url, {"sheet": {"type": "tags", "path": str(path)}})

    first = harvest(app, "sheet")
    assert first.status == "ok", first.error
    with app.db.read() as session:
        columns = (Story.external_id, Story.text, Story.created_at, Story.author_handle)
        stories = {row.external_id: row for row in session.execute(select(*columns))}
        retweets = {
            row.external_id: row
            for row in session.execute(select(Retweet.external_id, Retweet.created_at))
        }

    assert set(stories) | set(retweets) == {row["id_str"] for row in rows}
    for row in rows:
        created = datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y")
        if row["text"].startswith("RT @"):
            assert row["id_str"] in retweets
            assert as_utc(retweets[row["id_str"]].created_at) == created
        else:
            story = stories[row["id_str"]]
            assert story.text == unescape_text(row["text"])
            assert as_utc(story.created_at) == created
            assert story.author_handle == row["from_user"]

    second = harvest(app, "sheet")
    assert second.new == 0
    assert counts(app) == (len(stories), len(retweets), 0)
    app.close()
