"""A silent IMAP server cannot block later runs; a failing login never logs its password."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

import scheduler
from harvester.cli import cli
from sources.imap import ImapInbox
from store.models import HarvestRun
from tests.conftest import make_app
from tests.test_scheduler import write_mails

WRONG_PASSWORD = "wrong-Password-7f3e9c"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accept TCP connections on 127.0.0.1 and never send a byte; yield the port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImapInbox, "retry_wait_min", 0.01)
    monkeypatch.setattr(ImapInbox, "retry_wait_max", 0.02)


def test_silent_imap_server_times_out(
    silent_server, fast_retries, tmp_path, sqlite_url, monkeypatch
):
    monkeypatch.setenv("STORY_INBOX_PASSWORD", "unused-password")
    write_mails(tmp_path / "mail", 3)
    sources = {
        "inbox": {
            "type": "imap",
            "host": "127.0.0.1",
            "port": silent_server,
            "security": "plain",
            "username": "stories@example.org",
            "timeout": 1,
        },
        "archive": {"type": "eml", "path": "mail"},
    }
    app = make_app(sqlite_url, sources, base_dir=tmp_path)
    scheduler.use_app(app)
    try:
        scheduler.run_source("inbox")
        scheduler.run_source("archive")
    finally:
        scheduler.use_app(None)

    with app.db.read() as session:
        runs = {run.source: run for run in session.scalars(select(HarvestRun))}
        assert runs["inbox"].status == "failed"
        assert "timed out" in (runs["inbox"].error or "")
        assert runs["inbox"].finished_at is not None
        assert runs["archive"].status == "ok"
        assert runs["archive"].new == 3
    app.close()


@pytest.mark.imap
def test_failed_login_never_logs_password(
    dovecot, imap_user, fast_retries, tmp_path, sqlite_url, monkeypatch, caplog
):
    username, _ = imap_user
    monkeypatch.setenv("STORY_INBOX_PASSWORD", WRONG_PASSWORD)
    sources = {
        "inbox": {
            "type": "imap",
            "host": dovecot.host,
            "port": dovecot.plain_port,
            "security": "plain",
            "username": username,
            "timeout": 10,
        },
    }
    app = make_app(sqlite_url, sources, base_dir=tmp_path)
    caplog.set_level(logging.DEBUG)
    scheduler.use_app(app)
    try:
        scheduler.run_source("inbox")
    finally:
        scheduler.use_app(None)

    with app.db.read() as session:
        run = session.scalars(select(HarvestRun)).one()
        assert run.status == "failed"
        assert WRONG_PASSWORD not in (run.error or "")
    assert any(
        "inbox" in record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
    )
    assert WRONG_PASSWORD not in caplog.text
    app.close()


@pytest.mark.imap
def test_status_shows_failing_source_and_healthy_one(
    dovecot, imap_user, fast_retries, tmp_path, monkeypatch
):
    username, _ = imap_user
    monkeypatch.setenv("STORY_INBOX_PASSWORD", WRONG_PASSWORD)
    write_mails(tmp_path / "mail", 2)
    config = {
        "database": f"sqlite:///{tmp_path / 'stories.db'}",
        "sources": {
            "inbox": {
                "type": "imap",
                "host": dovecot.host,
                "port": dovecot.plain_port,
                "security": "plain",
                "username": username,
                "timeout": 10,
            },
            "archive": {
                "type": "eml",
                "path": "mail",
                "schedule": {"cron": "0 7 * * *"},
            },
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    runner = CliRunner()

    harvested = runner.invoke(cli, ["--config", str(path), "run"])
    status = runner.invoke(cli, ["--config", str(path), "status"])

    assert harvested.exit_code == 1
    assert status.exit_code == 0, status.output
    assert "inbox (imap, every 15m): FAILING" in status.output
    assert "archive (eml, cron 0 7 * * * (Europe/London)): OK" in status.output
    assert "failures:   1 in a row" in status.output
    assert "Scheduler: not running" in status.output
    assert WRONG_PASSWORD not in status.output
    assert WRONG_PASSWORD not in harvested.output
