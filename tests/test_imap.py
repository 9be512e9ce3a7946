"""The IMAP source against a real dovecot on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from harvester.config import ImapSource
from harvester.errors import PermanentSourceError, TransientSourceError
from harvester.parse.mail import parse_message
from harvester.records import Batch
from sources.imap import ImapInbox
from tests.fixtures.dovecot import Dovecot

pytestmark = pytest.mark.imap

PASSWORD_VARIABLE = "HARVESTER_TEST_IMAP_PASSWORD"


def story_mail(number: int, *, attachment_bytes: int = 0) -> bytes:
    message = EmailMessage()
    message["From"] = f"Teacher {number} <teacher{number}@school.example.org>"
    message["To"] = "stories@connectedu.example.org"
    message["Subject"] = f"Story {number}"
    message["Date"] = "Tue, 04 Mar 2025 09:15:00 +0000"
    message["Message-ID"] = f"<story-{number}-{id(message)}@school.example.org>"
    message.set_content(
        f"Mrs Okonkwo taught me to love maths. Story number {number}.\n"
    )
    if attachment_bytes:
        message.add_attachment(
            b"\x00" * attachment_bytes,
            maintype="application",
            subtype="pdf",
            filename="scan.pdf",
        )
    return message.as_bytes()


@pytest.fixture
def inbox_user(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> str:
    username, password = dovecot.add_user()
    monkeypatch.setenv(PASSWORD_VARIABLE, password)
    return username


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImapInbox, "retry_wait_min", 0.01)
    monkeypatch.setattr(ImapInbox, "retry_wait_max", 0.02)


def settings_for(dovecot: Dovecot, username: str, **overrides: object) -> ImapSource:
    values: dict[str, object] = {
        "type": "imap",
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "username": username,
        "password_env": PASSWORD_VARIABLE,
        "ca_file": dovecot.ca_file,
        "timeout": 10,
    }
    values.update(overrides)
    if values.get("security") in ("starttls", "plain") and "port" not in overrides:
        values["port"] = dovecot.plain_port
    return ImapSource.model_validate(values)


def fetch_all(
    source: ImapInbox, checkpoint: dict | None = None, *, commit: bool = False
) -> list[Batch]:
    try:
        batches = []
        for batch in source.fetch(checkpoint):
            batches.append(batch)
            if commit:
                source.after_commit(batch)
        return batches
    finally:
        source.close()


def items_of(batches: list[Batch]) -> list:
    return [item for batch in batches for item in batch.items]


def test_tls_default_verified_with_ca(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2)])
    settings = settings_for(dovecot, inbox_user)
    assert settings.security == "tls"

    items = items_of(fetch_all(ImapInbox("inbox", settings)))

    assert [parse_message(item).subject for item in items] == ["Story 1", "Story 2"]
    assert all(item.external_id.startswith("mid:story-") for item in items)
    assert items[0].origin == "INBOX uid 1"
    assert items[0].received_at is not None
    assert items[0].received_at.utcoffset().total_seconds() == 0
    assert items[0].size == len(items[0].payload)


def test_tls_rejects_untrusted_certificate(dovecot: Dovecot, inbox_user: str) -> None:
    settings = settings_for(dovecot, inbox_user, ca_file=None)

    with pytest.raises(PermanentSourceError) as caught:
        fetch_all(ImapInbox("inbox", settings))

    assert "not trusted" in str(caught.value)
    assert "ca_file" in str(caught.value)


def test_starttls_on_plain_port(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1)])
    settings = settings_for(dovecot, inbox_user, security="starttls")

    items = items_of(fetch_all(ImapInbox("inbox", settings)))

    assert len(items) == 1


def test_plain_only_when_configured(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1)])
    settings = settings_for(dovecot, inbox_user, security="plain", ca_file=None)

    items = items_of(fetch_all(ImapInbox("inbox", settings)))

    assert len(items) == 1


def test_fetch_does_not_set_seen(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2), story_mail(3)])
    settings = settings_for(dovecot, inbox_user, batch_size=2)

    batches = fetch_all(ImapInbox("inbox", settings), commit=True)

    assert [len(batch.items) for batch in batches] == [2, 1]
    assert [batch.checkpoint["last_uid"] for batch in batches] == [2, 3]
    for uid, flags in dovecot.flags(inbox_user).items():
        assert b"\\Seen" not in flags, f"UID {uid} was marked seen"


def test_after_seen_marks_stored_mail(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2)])
    settings = settings_for(dovecot, inbox_user, after="seen")

    fetch_all(ImapInbox("inbox", settings), commit=True)

    flags = dovecot.flags(inbox_user)
    assert len(flags) == 2
    for uid, uid_flags in flags.items():
        assert b"\\Seen" in uid_flags, f"UID {uid} was not marked seen"


def test_after_move_to_folder(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2)])
    dovecot.append(inbox_user, [], folder="Harvested")
    settings = settings_for(dovecot, inbox_user, after="move:Harvested")

    fetch_all(ImapInbox("inbox", settings), commit=True)

    assert dovecot.count(inbox_user, "INBOX") == 0
    assert dovecot.count(inbox_user, "Harvested") == 2


def test_after_move_needs_target_folder(dovecot: Dovecot, inbox_user: str) -> None:
    settings = settings_for(dovecot, inbox_user, after="move:Nowhere")

    with pytest.raises(PermanentSourceError, match="'Nowhere'.*not found"):
        fetch_all(ImapInbox("inbox", settings))


def test_checkpoint_resumes_after_last_uid(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2)])
    settings = settings_for(dovecot, inbox_user)
    first = fetch_all(ImapInbox("inbox", settings))
    checkpoint = first[-1].checkpoint

    dovecot.append(inbox_user, [story_mail(3)])
    second = items_of(fetch_all(ImapInbox("inbox", settings), checkpoint))
    third = items_of(
        fetch_all(ImapInbox("inbox", settings), {**checkpoint, "last_uid": 3})
    )

    assert checkpoint["folder"] == "INBOX"
    assert checkpoint["last_uid"] == 2
    assert [parse_message(item).subject for item in second] == ["Story 3"]
    assert third == []


def test_uidvalidity_change_refetches_all(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1), story_mail(2)], folder="Stories")
    settings = settings_for(dovecot, inbox_user, folder="Stories")
    first = fetch_all(ImapInbox("inbox", settings))
    checkpoint = first[-1].checkpoint

    dovecot.reset_uidvalidity(inbox_user, "Stories")
    second = fetch_all(ImapInbox("inbox", settings), checkpoint)

    assert second[-1].checkpoint["uidvalidity"] != checkpoint["uidvalidity"]
    assert sorted(item.external_id for item in items_of(second)) == sorted(
        item.external_id for item in items_of(first)
    )


def test_wrong_password_names_variable_not_secret(
    dovecot: Dovecot,
    inbox_user: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-password-5f1c"
    monkeypatch.setenv(PASSWORD_VARIABLE, wrong)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PermanentSourceError) as caught:
        fetch_all(ImapInbox("inbox", settings_for(dovecot, inbox_user)))

    message = str(caught.value)
    assert f"login failed for {inbox_user} at 127.0.0.1" in message
    assert PASSWORD_VARIABLE in message
    assert wrong not in message
    assert wrong not in caplog.text


def test_missing_folder_is_permanent(dovecot: Dovecot, inbox_user: str) -> None:
    settings = settings_for(dovecot, inbox_user, folder="No Such Folder")

    with pytest.raises(PermanentSourceError, match="'No Such Folder' not found"):
        fetch_all(ImapInbox("inbox", settings))


def test_oversize_strip_keeps_text(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1, attachment_bytes=300_000), story_mail(2)])
    settings = settings_for(
        dovecot, inbox_user, max_message_bytes=100_000, oversize="strip"
    )

    batches = fetch_all(ImapInbox("inbox", settings))
    items = {item.origin: item for item in items_of(batches)}

    stripped = items["INBOX uid 1"]
    assert stripped.attachments_dropped
    assert len(stripped.payload) < 100_000
    assert stripped.size is not None and stripped.size > 300_000
    story = parse_message(stripped)
    assert story.subject == "Story 1"
    assert "Mrs Okonkwo taught me" in story.text
    assert not items["INBOX uid 2"].attachments_dropped
    assert batches[-1].checkpoint["last_uid"] == 2


def test_oversize_quarantine_reports_problem(dovecot: Dovecot, inbox_user: str) -> None:
    dovecot.append(inbox_user, [story_mail(1, attachment_bytes=300_000)])
    settings = settings_for(
        dovecot,
        inbox_user,
        max_message_bytes=100_000,
        oversize="quarantine",
        after="seen",
    )

    batches = fetch_all(ImapInbox("inbox", settings), commit=True)

    assert items_of(batches) == []
    problems = [problem for batch in batches for problem in batch.problems]
    assert len(problems) == 1
    assert problems[0].origin == "INBOX uid 1"
    assert problems[0].verdict == "oversize"
    assert "over the limit of 100000" in problems[0].reason
    assert problems[0].external_id is not None and problems[0].external_id.startswith(
        "mid:story-1-"
    )
    assert len(problems[0].payload) < 10_000
    assert b"\\Seen" not in dovecot.flags(inbox_user)[1]
    assert batches[-1].checkpoint["last_uid"] == 1


def test_non_ascii_folder_name(dovecot: Dovecot, inbox_user: str) -> None:
    folder = "Geschichten/Schüler 先生"
    dovecot.append(inbox_user, [story_mail(1)], folder=folder)
    settings = settings_for(dovecot, inbox_user, folder=folder)

    batches = fetch_all(ImapInbox("inbox", settings))

    assert len(items_of(batches)) == 1
    assert items_of(batches)[0].origin == f"{folder} uid 1"
    assert batches[-1].checkpoint["folder"] == folder


def test_connection_refused_is_transient(dovecot: Dovecot, inbox_user: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = settings_for(dovecot, inbox_user, port=closed_port)

    with pytest.raises(TransientSourceError, match="next run retries"):
        fetch_all(ImapInbox("inbox", settings))


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accept connections on loopback and never send an IMAP greeting."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_silent_server_times_out(
    dovecot: Dovecot, inbox_user: str, silent_server: int
) -> None:
    settings = settings_for(
        dovecot, inbox_user, port=silent_server, security="plain", timeout=0.3
    )

    with pytest.raises(TransientSourceError, match="timed out"):
        fetch_all(ImapInbox("inbox", settings))


def test_harvest_twice_after_uidvalidity_change(
    dovecot: Dovecot, inbox_user: str, sqlite_url: str, tmp_path: Path
) -> None:
    from harvester.pipeline import harvest
    from tests.conftest import make_app

    dovecot.append(inbox_user, [story_mail(1), story_mail(2)], folder="Stories")
    source = settings_for(dovecot, inbox_user, folder="Stories").model_dump(
        exclude_none=True
    )
    app = make_app(sqlite_url, {"inbox": source}, base_dir=tmp_path)

    first = harvest(app, "inbox")
    dovecot.reset_uidvalidity(inbox_user, "Stories")
    second = harvest(app, "inbox")
    app.close()

    assert first.error is None
    assert first.new == 2
    assert second.error is None
    assert second.fetched == 2
    assert second.new == 0
    assert second.duplicates == 2
