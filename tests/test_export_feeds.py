"""Feeds: JSON Feed 1.1, Atom and CSV written from stored stories."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from harvester.errors import UsageError
from harvester.export.feeds import parse_since, write_feed
from harvester.export.items import story_key
from store.db import Database
from store.models import ExportRecord, Story
from tests.export_support import add_story, update_story

ATOM = "{http://www.w3.org/2005/Atom}"
TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}"
ADDRESS = "priya.shah@hillside-school.example"


def export(
    db: Database, format: str, since: datetime | None = None
) -> tuple[str, object]:
    out = io.StringIO(newline="")
    summary = write_feed(db, format, out, since=since)
    return out.getvalue(), summary


def key_of(db: Database, story_id: int) -> str:
    with db.read() as session:
        story = session.get(Story, story_id)
        assert story is not None
        return story_key(story.source, story.external_id)


@pytest.fixture
def stories(db: Database) -> dict[str, int]:
    """A mix of stories: two to export, several that must not appear, one held back."""
    return {
        "post": add_story(
            db,
            url="https://x.com/priya_teaches/status/1",
            tags=[
                {"kind": "person", "text": "Mr Okafor", "name": "David Okafor"},
                {"kind": "training", "text": "Teach First", "name": "Teach First"},
                {"kind": "person", "text": "Sam", "pupil": True},
            ],
        ),
        "mail": add_story(
            db,
            kind="email",
            source="inbox",
            external_id="mid:abc123@hillside-school.example",
            author_name="Tom Reed",
            author_handle=None,
            author_email=ADDRESS,
            subject="The teacher who changed my mind",
            text="Ms Patel showed me that maths is about patterns.",
            attribution="first_name",
        ),
        "pending": add_story(db, status="pending", consent="unknown"),
        "no_consent": add_story(db, consent="unknown"),
        "declined": add_story(db, consent="declined"),
        "rejected": add_story(db, status="rejected"),
        "held": add_story(
            db, text="Call me on 07700 900123 to hear more about Mr Okafor."
        ),
    }


def test_jsonfeed_follows_version_1_1(db: Database, stories: dict[str, int]) -> None:
    text, summary = export(db, "jsonfeed")
    feed = json.loads(text)

    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"]
    assert isinstance(feed["items"], list)
    items = {item["id"]: item for item in feed["items"]}
    assert set(items) == {key_of(db, stories["post"]), key_of(db, stories["mail"])}
    for item in feed["items"]:
        assert isinstance(item["id"], str)
        assert "content_text" in item or "content_html" in item
        assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        assert all(isinstance(author["name"], str) for author in item["authors"])
        assert "author" not in item, "JSON Feed 1.1 replaced author with authors"
        assert all(key.startswith("_") or key in JSON_FEED_ITEM_KEYS for key in item)

    post = items[key_of(db, stories["post"])]
    assert post["url"] == "https://x.com/priya_teaches/status/1"
    assert post["authors"] == [{"name": "Priya Shah"}]
    assert post["tags"] == ["David Okafor", "Teach First"]
    assert post["_harvester"]["people"] == ["David Okafor"]
    assert post["_harvester"]["training"] == ["Teach First"]

    mail = items[key_of(db, stories["mail"])]
    assert "url" not in mail
    assert mail["title"] == "The teacher who changed my mind"
    assert mail["authors"] == [{"name": "Tom"}]
    assert ADDRESS not in text
    assert "hillside-school.example" not in text
    assert [story_id for story_id, _ in summary.held] == [stories["held"]]


JSON_FEED_ITEM_KEYS = {
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "authors",
    "tags",
    "language",
    "attachments",
}


def test_atom_parses_back(db: Database, stories: dict[str, int]) -> None:
    text, _ = export(db, "atom")
    root = ET.fromstring(text.encode("utf-8"))

    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None, name
    entries = {
        entry.findtext(f"{ATOM}id"): entry for entry in root.findall(f"{ATOM}entry")
    }
    assert set(entries) == {key_of(db, stories["post"]), key_of(db, stories["mail"])}
    for entry in entries.values():
        for name in ("title", "updated", "published", "content"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert entry.findtext(f"{ATOM}author/{ATOM}name")
        assert entry.find(f"{ATOM}author/{ATOM}email") is None

    post = entries[key_of(db, stories["post"])]
    assert (
        post.find(f"{ATOM}link").get("href") == "https://x.com/priya_teaches/status/1"
    )
    terms = {(c.get("scheme"), c.get("term")) for c in post.findall(f"{ATOM}category")}
    assert terms == {
        ("urn:harvester:people", "David Okafor"),
        ("urn:harvester:training", "Teach First"),
    }
    mail = entries[key_of(db, stories["mail"])]
    assert mail.find(f"{ATOM}link") is None
    assert (
        mail.findtext(f"{ATOM}content")
        == "Ms Patel showed me that maths is about patterns."
    )
    assert ADDRESS not in text


def test_csv_round_trips(db: Database, stories: dict[str, int]) -> None:
    text_with_quotes = 'She said "try again",\nand I did; twice.'
    quoted = add_story(db, text=text_with_quotes)
    text, _ = export(db, "csv")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}

    row = rows[key_of(db, quoted)]
    assert row["action"] == "upsert"
    assert row["text"] == text_with_quotes
    post = rows[key_of(db, stories["post"])]
    assert post["people"].split("; ") == ["David Okafor"]
    assert post["training"] == "Teach First"
    assert post["author"] == "Priya Shah"
    assert datetime.fromisoformat(post["date_published"]) == datetime(
        2024, 3, 1, 9, 30, tzinfo=timezone.utc
    )
    assert rows[key_of(db, stories["mail"])]["url"] == ""
    assert len(rows) == 3


def test_withdrawn_story_becomes_deletion(
    db: Database, stories: dict[str, int]
) -> None:
    export(db, "jsonfeed")
    post_key = key_of(db, stories["post"])
    update_story(db, stories["post"], consent="withdrawn")

    feed = json.loads(export(db, "jsonfeed")[0])
    deleted = [
        item for item in feed["items"] if item.get("_harvester", {}).get("deleted")
    ]
    assert [item["id"] for item in deleted] == [post_key]
    assert deleted[0]["content_text"] == ""

    atom = ET.fromstring(export(db, "atom")[0].encode("utf-8"))
    tombstones = atom.findall(f"{TOMBSTONE}deleted-entry")
    assert [element.get("ref") for element in tombstones] == [post_key]
    assert datetime.fromisoformat(tombstones[0].get("when")).tzinfo is not None

    rows = list(csv.DictReader(io.StringIO(export(db, "csv")[0], newline="")))
    assert [
        (row["action"], row["id"]) for row in rows if row["action"] == "delete"
    ] == [("delete", post_key)]


def test_unreleased_story_never_deleted(db: Database, stories: dict[str, int]) -> None:
    update_story(db, stories["post"], status="rejected")
    feed = json.loads(export(db, "jsonfeed")[0])
    assert key_of(db, stories["post"]) not in {item["id"] for item in feed["items"]}


def test_since_last_writes_changes_only(db: Database, stories: dict[str, int]) -> None:
    export(db, "jsonfeed")
    assert json.loads(export(db, "jsonfeed", since=last_time(db))[0])["items"] == []

    update_story(db, stories["mail"], text="Ms Patel showed me patterns everywhere.")
    gone = add_story(db)
    export(db, "csv")
    update_story(db, gone, gone_at_source=datetime.now(timezone.utc))

    items = json.loads(export(db, "jsonfeed", since=last_time(db))[0])["items"]
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {key_of(db, stories["mail"]), key_of(db, gone)}
    assert (
        by_id[key_of(db, stories["mail"])]["content_text"]
        == "Ms Patel showed me patterns everywhere."
    )
    assert by_id[key_of(db, gone)]["_harvester"] == {"deleted": True}


def last_time(db: Database) -> datetime:
    with db.read() as session:
        records = (
            session.query(ExportRecord)
            .filter_by(format="jsonfeed")
            .order_by(ExportRecord.id)
            .all()
        )
        return records[-1].exported_at


def test_parse_since_values() -> None:
    last = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert parse_since(None, last) is None
    assert parse_since("last", last) == last
    assert parse_since("LAST", None) is None
    assert parse_since("2024-05-02", last) == datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert parse_since("2024-05-02T10:00:00+01:00", last) == datetime(
        2024, 5, 2, 9, tzinfo=timezone.utc
    )
    with pytest.raises(UsageError, match="invalid --since value 'yesterday'"):
        parse_since("yesterday", last)
