"""Erasure: ``harvester forget`` leaves no trace of an address or a handle."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import JSON, LargeBinary, String, Text, inspect, select, text

from harvester.cli import cli
from harvester.export.erasure import (
    forget_email,
    forget_handle,
    mail_senders,
    post_author,
)
from harvester.export.items import story_key
from store.db import Database
from store.models import (
    Alert,
    AuditEvent,
    Delivery,
    HarvestRun,
    Person,
    Quarantined,
    RawItemRow,
    Retweet,
    Story,
    TagRow,
)
from tests.export_support import add_story

ADDRESS = "jane.doe@example.org"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def mail(
    sender: str, body: str, *, reply_to: str | None = None, cc: str | None = None
) -> bytes:
    lines = [f"From: {sender}", "To: stories@connectedu.example", "Subject: My story"]
    if reply_to:
        lines.append(f"Reply-To: {reply_to}")
    if cc:
        lines.append(f"Cc: {cc}")
    lines += [f"Message-ID: <{abs(hash(body))}@mail.example>", "", body]
    return "\r\n".join(lines).encode()


def add_raw(db: Database, payload: bytes, kind: str = "email") -> int:
    with db.write() as session:
        row = RawItemRow(
            source="inbox",
            external_id=f"raw-{abs(hash(payload))}",
            kind=kind,
            payload=payload,
            fetched_at=NOW,
        )
        session.add(row)
        session.flush()
        return row.id


def traces(db: Database, needle: str) -> list[str]:
    """Return table.column for every text, JSON or binary value that contains ``needle``."""
    found = []
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                if not isinstance(column["type"], (String, Text, JSON, LargeBinary)):
                    continue
                name = column["name"]
                for (value,) in connection.execute(
                    text(f'SELECT "{name}" FROM "{table}"')
                ):
                    if value is None:
                        continue
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        hit = needle.encode() in value.lower()
                    elif isinstance(value, str):
                        hit = needle in value.lower()
                    else:
                        hit = needle in json.dumps(value).lower()
                    if hit:
                        found.append(f"{table}.{name}")
    return found


@pytest.fixture
def seeded(db: Database) -> dict[str, int]:
    """Jane's mail, a form mail with her as Reply-To, her auto-reply, and others' mentions of her."""
    own_raw = add_raw(
        db, mail("Jane Doe <Jane.Doe@Example.org>", "Mr Grey taught me to read.")
    )
    form_raw = add_raw(
        db, mail("forms@connectedu.example", "Ms Patel was patient.", reply_to=ADDRESS)
    )
    auto_raw = add_raw(db, mail(f"<{ADDRESS}>", "I am away until Monday."))
    other_raw = add_raw(
        db, mail("sam@example.net", "Ms Patel helped us both.", cc=f"Jane <{ADDRESS}>")
    )

    own = add_story(
        db,
        kind="email",
        source="inbox",
        external_id="mid:1@mail.example",
        raw_item_id=own_raw,
        author_name="Jane Doe",
        author_handle=None,
        author_email="Jane.Doe@example.org",
        text="Mr Grey taught me to read.",
        released_at=NOW,
        tags=[
            {"kind": "person", "text": "Mr Grey", "name": "Mr Grey"},
            {"kind": "person", "text": "Ms Patel", "name": "Ms Patel"},
        ],
    )
    form = add_story(
        db,
        kind="email",
        source="inbox",
        external_id="mid:2@mail.example",
        raw_item_id=form_raw,
        author_email=None,
        author_handle=None,
        text="Ms Patel was patient.",
    )
    other = add_story(
        db,
        kind="email",
        source="inbox",
        external_id="mid:3@mail.example",
        raw_item_id=other_raw,
        author_name="Sam",
        author_handle=None,
        author_email="sam@example.net",
        text=f"Ms Patel helped us both. Write to Jane at {ADDRESS.upper()} for more.",
        tags=[{"kind": "person", "text": "Ms Patel", "name": "Ms Patel"}],
    )

    with db.write() as session:
        grey = Person(name="Mr Grey")
        patel = Person(name="Ms Patel")
        session.add_all([grey, patel])
        session.flush()
        for tag in session.scalars(select(TagRow)):
            tag.person_id = grey.id if tag.name == "Mr Grey" else patel.id
        session.add(
            Quarantined(
                source="inbox",
                external_id="q1",
                raw_item_id=auto_raw,
                kind="email",
                reason="automatic reply",
                author=f"Jane Doe <{ADDRESS}>",
                subject="Away",
            )
        )
        session.add(
            AuditEvent(
                story_id=own,
                actor="curator@connectedu.example",
                action="edit",
                before={"author_email": ADDRESS},
                after={"text": "Mr Grey taught me to read."},
            )
        )
        session.add(
            AuditEvent(
                story_id=other,
                actor="curator@connectedu.example",
                action="note",
                note=f"asked {ADDRESS} to confirm",
            )
        )
        session.add(
            HarvestRun(
                source="inbox",
                status="failed",
                error=f"message from {ADDRESS} unreadable",
            )
        )
        session.add(
            Alert(
                source="inbox", kind="failing", detail=f"last error mentions {ADDRESS}"
            )
        )
        key = story_key("inbox", "mid:1@mail.example")
        session.add(
            Delivery(
                story_key=key,
                story_id=own,
                version=1,
                action="upsert",
                idempotency_key=key + "#1",
                status="delivered",
                attempts=1,
                last_error=f"earlier failure for {ADDRESS}",
            )
        )
    return {"own": own, "form": form, "other": other}


def test_forget_email_leaves_no_trace(db: Database, seeded: dict[str, int]) -> None:
    assert len(traces(db, ADDRESS)) >= 8, (
        "the seed should put the address in many places"
    )

    report = forget_email(db, "  JANE.DOE@example.org ")

    assert traces(db, ADDRESS) == []
    assert report.stories == sorted([seeded["own"], seeded["form"]])
    assert report.raw_items == 3
    assert report.quarantined == 1
    assert report.people == 1
    assert report.deletes_queued == 1
    with db.read() as session:
        assert session.get(Story, seeded["other"]) is not None
        assert "[erased]" in session.get(Story, seeded["other"]).text
        assert [p.name for p in session.scalars(select(Person))] == ["Ms Patel"]
        assert (
            session.scalar(select(RawItemRow.id).where(RawItemRow.payload.is_not(None)))
            is not None
        )
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "erasure"))
        )
        assert len(events) == 1
        assert events[0].after == {
            "story_keys": [story_key("inbox", "mid:1@mail.example")]
        }
        assert (
            session.scalar(
                select(AuditEvent).where(AuditEvent.story_id == seeded["own"])
            )
            is None
        )
        deletes = list(
            session.scalars(select(Delivery).where(Delivery.action == "delete"))
        )
        assert [(d.story_key, d.status, d.story_id) for d in deletes] == [
            (story_key("inbox", "mid:1@mail.example"), "pending", None)
        ]


def test_forget_cli_prints_removals(
    db: Database, seeded: dict[str, int], tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": db.url}))

    result = CliRunner().invoke(
        cli, ["--config", str(config), "forget", "--email", ADDRESS]
    )

    assert result.exit_code == 0, result.output
    assert "removed 2 stories" in result.output
    assert "queued 1 deletions" in result.output
    assert ADDRESS not in result.output
    assert traces(db, ADDRESS) == []


def test_forget_needs_one_option(db: Database, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": db.url}))
    result = CliRunner().invoke(cli, ["--config", str(config), "forget"])
    assert result.exit_code == 2
    assert "pass exactly one of --email ADDRESS or --handle NAME" in result.output


def post_payload(post_id: str, username: str, text_value: str) -> bytes:
    page = {
        "data": {"id": post_id, "text": text_value, "author_id": "u" + post_id},
        "includes": {
            "users": [{"id": "u" + post_id, "username": username, "name": username}],
            "tweets": [],
        },
    }
    return json.dumps(page).encode()


def test_forget_handle_removes_posts(db: Database) -> None:
    own_raw = add_raw(
        db,
        post_payload("101", "JaneTeaches", "Mr Grey made history real #ConnectED"),
        "tweet",
    )
    retweet_raw = add_raw(
        db,
        post_payload("102", "sam_t", "RT @JaneTeaches: Mr Grey made history real"),
        "tweet",
    )
    own = add_story(
        db,
        source="x",
        external_id="101",
        raw_item_id=own_raw,
        author_handle="JaneTeaches",
        released_at=NOW,
    )
    other = add_story(db, source="x", external_id="103", author_handle="sam_t")
    with db.write() as session:
        session.add(
            Retweet(
                source="x",
                external_id="102",
                original_external_id="101",
                raw_item_id=retweet_raw,
                author_handle="sam_t",
                created_at=NOW,
            )
        )
        session.add(
            Retweet(
                source="x",
                external_id="104",
                original_external_id="999",
                author_handle="janeteaches",
                created_at=NOW,
            )
        )

    report = forget_handle(db, "@janeteaches")

    assert report.stories == [own]
    assert report.retweets == 2
    assert report.raw_items == 2
    with db.read() as session:
        assert session.get(Story, other) is not None
        assert session.scalar(select(Retweet)) is None
    assert traces(db, "janeteaches") == []


def test_sender_and_author_parsing() -> None:
    raw = mail("A <a@x.org>", "hi", reply_to="B <B@Y.org>, c@z.org")
    assert mail_senders(raw) == {"a@x.org", "b@y.org", "c@z.org"}
    assert post_author(json.dumps({"tags_row": {"from_user": "jo"}}).encode()) == "jo"
    assert (
        post_author(json.dumps({"data": {"author": {"username": "kim"}}}).encode())
        == "kim"
    )
    assert post_author(b"not json") is None
