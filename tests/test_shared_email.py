"""Real-world mail from the public data sets, parsed directly and harvested from dovecot."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from harvester.classify import classify
from harvester.parse.mail import parse_message
from harvester.records import RawItem
from sources._mail import message_key
from store.models import Quarantined
from store.models import Story as StoryRow
from tests.fixtures.dovecot import Dovecot

pytestmark = pytest.mark.shared_data

FETCHED = datetime.datetime(2025, 3, 5, 12, 0, tzinfo=datetime.UTC)
_DATETIME_CALLS = {
    "datetime.datetime": datetime.datetime,
    "datetime.timezone": datetime.timezone,
    "datetime.timedelta": datetime.timedelta,
}


def email_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "email").rglob("*.eml"))


def raw_item(path: Path, root: Path) -> RawItem:
    payload = path.read_bytes()
    return RawItem(
        "shared",
        "email",
        message_key(payload),
        payload,
        FETCHED,
        origin=str(path.relative_to(root)),
    )


def _evaluate(node: ast.AST) -> Any:
    """Evaluate the constants and datetime constructors of an expected-parse file."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute) and ast.unparse(node) == "datetime.timezone.utc":
        return datetime.UTC
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.Call):
        function = _DATETIME_CALLS[ast.unparse(node.func)]
        arguments = [_evaluate(argument) for argument in node.args]
        keywords = {
            keyword.arg: _evaluate(keyword.value)
            for keyword in node.keywords
            if keyword.arg
        }
        return function(*arguments, **keywords)
    raise ValueError(f"unsupported expression {ast.unparse(node)}")


def expected_fields(path: Path) -> dict[str, Any]:
    """Read subject, from_ and date from an imap_tools expected-parse file without running it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and ast.unparse(statement.targets[0]) == "DATA"
        ):
            call = statement.value
            assert isinstance(call, ast.Call)
            fields = {}
            for keyword in call.keywords:
                if keyword.arg in ("subject", "from_", "date"):
                    fields[keyword.arg] = _evaluate(keyword.value)
            return fields
    raise ValueError(f"{path}: no DATA assignment")


def _squeeze(text: str) -> str:
    return "".join(text.split()).replace("\ufffd", "")


def test_every_shared_email_parses(shared_data: Path) -> None:
    root = shared_data / "email"
    files = email_files(shared_data)
    assert len(files) > 100

    for path in files:
        item = raw_item(path, root)
        story = parse_message(item)
        classification = classify(story)
        assert story.created_at.tzinfo is not None, item.origin
        if classification.kind != "story":
            assert classification.reason, (
                f"{item.origin}: {classification.kind} without a reason"
            )


def test_shared_auto_replies_are_automated(shared_data: Path) -> None:
    root = shared_data / "email"
    files = sorted((root / "autoreply").glob("*.eml"))
    assert files

    for path in files:
        result = classify(parse_message(raw_item(path, root)))
        assert result.kind == "automated", f"{path.name}: {result}"


def test_shared_replies_keep_only_new_text(shared_data: Path) -> None:
    root = shared_data / "email"
    for path in sorted((root / "talon_replies").glob("*.eml")):
        story = parse_message(raw_item(path, root))
        assert story.text == "Hello", f"{path.name}: {story.text!r}"


def test_shared_parses_match_expected(shared_data: Path) -> None:
    root = shared_data / "email" / "imap_tools"
    mismatches = []
    compared = 0
    for expected_path in sorted((root / "messages_data").rglob("*.py")):
        message_path = (
            root
            / "messages"
            / expected_path.relative_to(root / "messages_data").with_suffix(".eml")
        )
        if not message_path.exists():
            continue
        payload = message_path.read_bytes()
        # A forward's story author is the forwarded mail's author, not the outer From.
        if (
            b"message/rfc822" in payload.lower()
            or b"forwarded message" in payload.lower()
        ):
            continue
        expected = expected_fields(expected_path)
        story = parse_message(raw_item(message_path, root))
        compared += 1
        name = message_path.name

        # imap_tools drops the space between plain text and an encoded word, which
        # RFC 2047 keeps, and drops undecodable bytes, which this parser replaces.
        subject = _squeeze(str(expected.get("subject", "")))
        if subject and _squeeze(story.subject or "") != subject:
            mismatches.append(f"{name}: subject {story.subject!r} != {subject!r}")
        sender = str(expected.get("from_", "")).lower()
        if "@" in sender and (story.author_email or "").replace('"', "") != sender:
            mismatches.append(f"{name}: from {story.author_email!r} != {sender!r}")
        date = expected.get("date")
        is_aware = isinstance(date, datetime.datetime) and date.tzinfo is not None
        if is_aware and story.created_at != date.astimezone(datetime.UTC):
            mismatches.append(f"{name}: date {story.created_at} != {date}")

    assert compared > 50
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.imap
def test_shared_email_harvested_from_dovecot(
    shared_data: Path,
    dovecot: Dovecot,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harvester.pipeline import harvest
    from tests.conftest import make_app

    username, password = dovecot.add_user()
    monkeypatch.setenv("HARVESTER_TEST_IMAP_PASSWORD", password)
    files = email_files(shared_data)
    dovecot.append(username, [path.read_bytes() for path in files])
    source = {
        "type": "imap",
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "username": username,
        "password_env": "HARVESTER_TEST_IMAP_PASSWORD",
        "ca_file": dovecot.ca_file,
        "batch_size": 25,
    }
    app = make_app(sqlite_url, {"inbox": source}, base_dir=tmp_path)

    first = harvest(app, "inbox")
    second = harvest(app, "inbox")
    with app.db.read() as session:
        story_ids = set(session.scalars(select(StoryRow.external_id)))
        quarantined = {
            row.external_id: row.reason for row in session.scalars(select(Quarantined))
        }
    app.close()

    unique_ids = {message_key(path.read_bytes()) for path in files}
    assert first.error is None
    assert first.errors == 0
    assert first.fetched == len(files)
    stored_ids = story_ids | set(quarantined)
    # Mail without a Message-ID is keyed by a hash of its bytes, and dovecot stores
    # line endings as CRLF, so only the count of those keys can be compared.
    assert {key for key in stored_ids if key.startswith("mid:")} == {
        key for key in unique_ids if key.startswith("mid:")
    }
    assert len(stored_ids) == len(unique_ids)
    assert story_ids & set(quarantined) == set()
    assert all(quarantined.values())
    for path in sorted((shared_data / "email" / "autoreply").glob("*.eml")):
        assert message_key(path.read_bytes()) in quarantined, (
            f"{path.name} was not quarantined"
        )
    assert second.error is None
    assert second.fetched == 0
    assert second.new == 0


def test_shared_reply_header_scan_equals_full(shared_data: Path) -> None:
    from email import message_from_bytes, policy

    from harvester.parse.mail_text import _ReplyMessage, cut_quotes

    cut_quotes("warm the shared patterns")
    assert _ReplyMessage._shared is not None
    scan = _ReplyMessage._shared[0]
    found = 0
    for path in email_files(shared_data):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if part.get_content_maintype() != "text":
                continue
            try:
                text = part.get_content()
            except (LookupError, UnicodeError):
                continue
            stripped = "\n".join(line.strip() for line in text.replace("\r\n", "\n").split("\n"))
            for variant in (text, stripped):
                expected = scan.pattern.findall(variant)
                assert scan.findall(variant) == expected, path.name
                found += bool(expected)
    assert found > 20
