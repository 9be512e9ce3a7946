"""The harvest pipeline on real stores: idempotence, quarantine, checkpoints, duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from harvester import pipeline
from harvester.errors import TransientSourceError
from harvester.records import Batch
from sources.files import split_page
from store.models import Checkpoint, HarvestRun, Quarantined, RawItemRow, Retweet, Story, TagRow
from tests.conftest import make_app
from tests.pages import page, post, user, write_jsonl

STORY_ONE = "#ConnectED My mentor Amara Okonkwo got me through the NPQH. She believed in me when I did not."
STORY_TWO = "#ConnectED Thank you @ben_maths for the Early Career Framework sessions that changed my teaching."
STORY_THREE = "#ConnectED Mr Patel ran our NPQLT cohort with patience and humour; every session left me braver."


def sample_pages() -> list[dict[str, Any]]:
    users = [user("ada_teaches", "Ada Lovelace"), user("ben_maths", "Ben Carter")]
    mention = {"mentions": [{"start": 21, "end": 30, "username": "ben_maths", "id": "u-ben_maths"}]}
    first = page([post(101, STORY_ONE), post(102, STORY_TWO, entities=mention)], users)
    retweet = post(103, "RT @ada_teaches: " + STORY_ONE[:60], author="ben_maths", referenced_tweets=[{"type": "retweeted", "id": "101"}])
    second = page([post(104, STORY_THREE), retweet], users, tweets=[post(101, STORY_ONE)])
    return [first, second]


def count(app: Any, model: type) -> int:
    with app.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "posts.jsonl", sample_pages(), extra_lines=['{"data": [{"id": "105", "text": "cut sh'])


def test_harvest_twice_adds_nothing(database_url: str, archive: Path) -> None:
    app = make_app(database_url, {"posts": {"type": "twarc", "path": str(archive)}})

    first = pipeline.harvest(app, "posts")
    stories_after_first = count(app, Story)
    second = pipeline.harvest(app, "posts")

    assert first.status == "ok"
    assert first.new == 3
    assert first.fetched == 5
    assert stories_after_first == 3
    assert second.new == 0
    assert second.duplicates == 5
    assert count(app, Story) == 3
    assert count(app, RawItemRow) == 5
    assert count(app, Retweet) == 1


def test_truncated_line_quarantined_not_fatal(sqlite_url: str, archive: Path) -> None:
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})

    summary = pipeline.harvest(app, "posts")

    assert summary.status == "ok"
    assert summary.errors == 1
    assert summary.quarantined == 1
    with app.db.read() as session:
        item = session.scalars(select(Quarantined)).one()
    assert item.kind == "unreadable"
    assert "line 3" in item.origin
    assert "invalid JSON" in item.reason


def test_stories_keep_text_tags_and_utc(sqlite_url: str, archive: Path) -> None:
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})
    pipeline.harvest(app, "posts")

    with app.db.read() as session:
        story = session.scalars(select(Story).where(Story.external_id == "102")).one()
        tags = [(tag.kind, tag.text, tag.method, tag.name) for tag in story.tags]
        for tag in story.tags:
            assert story.text[tag.start : tag.end] == tag.text
        created = story.created_at

    assert story.text == STORY_TWO
    assert story.author_handle == "ada_teaches"
    assert created.tzinfo is not None
    assert created.utcoffset() == timezone.utc.utcoffset(None)
    assert ("person", "@ben_maths", "mention", "Ben Carter") in tags
    assert any(kind == "training" and method == "gazetteer" for kind, _, method, _ in tags)


def test_retweet_linked_not_story(sqlite_url: str, archive: Path) -> None:
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})
    pipeline.harvest(app, "posts")

    with app.db.read() as session:
        link = session.scalars(select(Retweet)).one()
        story_ids = set(session.scalars(select(Story.external_id)))
    assert link.external_id == "103"
    assert link.original_external_id == "101"
    assert "103" not in story_ids


def harvest_after_story_three(
    sqlite_url: str, tmp_path: Path, later_posts: list[dict]
) -> tuple[Any, Any]:
    """Harvest source "a" with post 201 (STORY_THREE), then "b" with ``later_posts``."""
    users = [user("ada_teaches", "Ada Lovelace")]
    first = write_jsonl(tmp_path / "a.jsonl", [page([post(201, STORY_THREE)], users)])
    later = write_jsonl(tmp_path / "b.jsonl", [page(later_posts, users)])
    sources = {
        "a": {"type": "twarc", "path": str(first)},
        "b": {"type": "twarc", "path": str(later)},
    }
    app = make_app(sqlite_url, sources)
    pipeline.harvest(app, "a")
    return app, pipeline.harvest(app, "b")


def test_same_text_elsewhere_is_duplicate(sqlite_url: str, tmp_path: Path) -> None:
    later = [post(301, STORY_THREE + " https://t.co/abc")]
    app, summary = harvest_after_story_three(sqlite_url, tmp_path, later)

    with app.db.read() as session:
        copy = session.scalars(select(Story).where(Story.source == "b")).one()
        original = session.scalars(select(Story).where(Story.source == "a")).one()
    assert summary.new == 0
    assert summary.duplicates == 1
    assert copy.status == "duplicate"
    assert copy.duplicate_of_id == original.id


def test_duplicate_after_new_story_in_batch(sqlite_url: str, tmp_path: Path) -> None:
    later = [post(302, STORY_ONE), post(301, STORY_THREE)]
    app, summary = harvest_after_story_three(sqlite_url, tmp_path, later)

    with app.db.read() as session:
        original = session.scalars(select(Story).where(Story.external_id == "201")).one()
        fresh = session.scalars(select(Story).where(Story.external_id == "302")).one()
        copy = session.scalars(select(Story).where(Story.external_id == "301")).one()
    assert summary.new == 1
    assert summary.duplicates == 1
    assert fresh.duplicate_of_id is None
    assert copy.status == "duplicate"
    assert copy.duplicate_of_id == original.id


class FailingSource:
    """Yields one good batch with a checkpoint, then fails like a dropped connection."""

    name = "flaky"

    def __init__(self, pages: list[dict[str, Any]], fail: bool) -> None:
        self.pages = pages
        self.fail = fail
        self.resumed_from: dict[str, Any] | None = None

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        from datetime import datetime

        from harvester.records import RawItem
        import json

        self.resumed_from = checkpoint
        start = (checkpoint or {}).get("page", 0)
        for number in range(start, len(self.pages)):
            if self.fail and number == 1:
                raise TransientSourceError(self.name, "connection reset by peer; the next run retries")
            items = [
                RawItem(self.name, "tweet", external_id, json.dumps(payload).encode(), datetime.now(timezone.utc))
                for external_id, payload in split_page(self.pages[number])
            ]
            yield Batch(items, checkpoint={"page": number + 1})

    def after_commit(self, batch: Batch) -> None:
        return None

    def close(self) -> None:
        return None


def test_failure_keeps_committed_batch(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    placeholder = write_jsonl(tmp_path / "unused.jsonl", [])
    app = make_app(sqlite_url, {"flaky": {"type": "twarc", "path": str(placeholder)}})
    pages = sample_pages()

    broken = FailingSource(pages, fail=True)
    monkeypatch.setattr(pipeline, "open_source", lambda config, name: broken)
    failed = pipeline.harvest(app, "flaky")

    with app.db.read() as session:
        saved = session.get(Checkpoint, "flaky").state
        run = session.get(HarvestRun, failed.run_id)
    assert failed.status == "failed"
    assert "connection reset" in (failed.error or "")
    assert run.status == "failed"
    assert run.finished_at is not None
    assert saved == {"page": 1}
    assert count(app, Story) == 2

    healthy = FailingSource(pages, fail=False)
    monkeypatch.setattr(pipeline, "open_source", lambda config, name: healthy)
    resumed = pipeline.harvest(app, "flaky")

    assert healthy.resumed_from == {"page": 1}
    assert resumed.status == "ok"
    assert count(app, Story) == 3
    assert count(app, TagRow) > 0


def test_tags_linked_to_people_and_training(sqlite_url: str, archive: Path) -> None:
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})
    pipeline.harvest(app, "posts")

    with app.db.read() as session:
        tags = list(session.scalars(select(TagRow)))
    training = [tag for tag in tags if tag.kind == "training"]
    people = [tag for tag in tags if tag.kind == "person"]
    assert training
    assert all(tag.training_id is not None for tag in training)
    assert people
    assert all(tag.person_id is not None for tag in people)


def test_malformed_posts_quarantined_rest_stored(sqlite_url: str, tmp_path: Path) -> None:
    good = page([post(501, STORY_ONE)], [user("ada_teaches", "Ada Lovelace")])
    lines = [
        '{"errors": ["a string"], "data": [{"id": "502", "created_at": "2026-11-30T10:00:00.000Z", "text": "Mr Patel ran the best NPQH cohort I have ever seen #ConnectED"}]}',
        '{"data": [{"id": "503", "text": "y"}], "includes": "not a mapping"}',
        '{"data": [{"text": "no id #ConnectED"}, {"id": null, "text": "null id"}]}',
        '{"data": "a string"}',
    ]
    archive = write_jsonl(tmp_path / "odd.jsonl", [good], extra_lines=lines)
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})

    summary = pipeline.harvest(app, "posts")
    again = pipeline.harvest(app, "posts")

    with app.db.read() as session:
        reasons = [item.reason for item in session.scalars(select(Quarantined))]
    assert summary.status == "ok"
    assert summary.new == 2
    assert summary.quarantined == 4
    assert sum("no valid id" in reason for reason in reasons) == 3
    assert sum("X API v2 shape" in reason for reason in reasons) == 1
    assert again.new == 0
    assert again.quarantined == 0


def test_tags_sheet_extra_fields_and_encoding(sqlite_url: str, tmp_path: Path) -> None:
    header = "id_str,from_user,text,created_at\n"
    good = '101,amy,"Mrs Okonkwo taught me to love poetry and I teach it now #ConnectED",Sun Apr 19 19:22:23 +0000 2020\n'
    extra = '102,ben,"Thanks to Mr Patel for everything he did for our school #ConnectED",Sun Apr 19 19:22:23 +0000 2020,x,y\n'
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(header + good + extra, encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes((header + "103,cat,caf\xe9 story,Sun Apr 19 19:22:23 +0000 2020\n").encode("latin-1"))
    app = make_app(sqlite_url, {"sheet": {"type": "tags", "path": str(sheet)}, "latin": {"type": "tags", "path": str(latin)}})

    stored = pipeline.harvest(app, "sheet")
    failed = pipeline.harvest(app, "latin")

    assert stored.new == 2
    assert failed.status == "failed"
    assert "not UTF-8" in (failed.error or "")
    assert "CSV UTF-8" in (failed.error or "")


def test_mail_archives_odd_files(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    (folder / "looks-like.eml").mkdir(parents=True)
    (folder / "story.eml").write_bytes(
        b"From: Ann Lee <ann@example.org>\nSubject: My mentor\nMessage-ID: <m1@example.org>\n"
        b"Date: Mon, 2 Jun 2025 10:00:00 +0000\n\nMrs Okonkwo believed in me when nobody else did.\n"
    )
    not_mbox = tmp_path / "notes.mbox"
    not_mbox.write_text("just some notes, not mail\n", encoding="utf-8")
    app = make_app(sqlite_url, {"mail": {"type": "eml", "path": str(folder)}, "box": {"type": "mbox", "path": str(not_mbox)}})

    stored = pipeline.harvest(app, "mail")
    failed = pipeline.harvest(app, "box")

    assert stored.status == "ok"
    assert stored.new == 1
    assert failed.status == "failed"
    assert "no messages found" in (failed.error or "")
