"""Publishing: signed deliveries to a local receiver that fails some requests on purpose."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from tenacity import wait_none

from harvester.app import App
from harvester.export.items import story_key
from harvester.export.publish import publish_pending
from store.models import Delivery, Story
from tests.conftest import make_app
from tests.export_support import add_story, update_story

SECRET = "test-shared-secret-for-signing"
CLIENT_TIMEOUT = 0.5


class Receiver:
    """A stand-in for the community site: checks signatures and applies each key once.

    ``plan`` lists what to do with the next requests: ``ok``, ``500``, ``drop`` (close
    the connection without a response) or ``slow`` (apply, then respond after the
    client's timeout, so the client retries a request that already arrived).
    """

    def __init__(self) -> None:
        self.plan: deque[str] = deque()
        self.requests = 0
        self.bad_signatures = 0
        self.duplicates = 0
        self.keys: set[str] = set()
        self.applied: dict[str, list[dict]] = defaultdict(list)
        self.deleted: dict[str, int] = defaultdict(int)
        self.site: dict[str, dict] = {}
        self.lock = threading.Lock()

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> int | None:
        with self.lock:
            self.requests += 1
            mode = self.plan.popleft() if self.plan else "ok"
        timestamp = headers.get("x-harvester-timestamp", "")
        expected = (
            "sha256="
            + hmac.new(
                SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, headers.get("x-harvester-signature", "")):
            with self.lock:
                self.bad_signatures += 1
            return 401
        if mode == "500":
            return 500
        if mode == "drop":
            return None
        self._apply(method, path, headers["idempotency-key"], json.loads(body))
        if mode == "slow":
            time.sleep(CLIENT_TIMEOUT * 3)
        return 200

    def _apply(self, method: str, path: str, key: str, document: dict) -> None:
        with self.lock:
            if key in self.keys:
                self.duplicates += 1
                return
            self.keys.add(key)
            if method == "POST":
                self.applied[document["id"]].append(document)
                self.site[document["id"]] = document
            else:
                assert path.endswith("/" + document["id"])
                self.deleted[document["id"]] += 1
                self.site.pop(document["id"], None)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = state.handle(self.command, self.path, headers, body)
            if status is None:
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _serve
        do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/stories"
    server.shutdown()
    server.server_close()


def publish_app(
    sqlite_url: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> App:
    monkeypatch.setenv("TEST_PUBLISH_SECRET", SECRET)
    publish = {
        "url": url,
        "secret_env": "TEST_PUBLISH_SECRET",
        "timeout": CLIENT_TIMEOUT,
        "max_attempts": 5,
    }
    return make_app(sqlite_url, base_dir=tmp_path, publish=publish)


def key_of(app: App, story_id: int) -> str:
    with app.db.read() as session:
        story = session.get(Story, story_id)
        assert story is not None
        return story_key(story.source, story.external_id)


def status_of(app: App, story_id: int) -> str:
    with app.db.read() as session:
        story = session.get(Story, story_id)
        assert story is not None
        return story.status


def test_each_story_arrives_once_latest(
    receiver: tuple[Receiver, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, url = receiver
    app = publish_app(sqlite_url, url, tmp_path, monkeypatch)
    ready = [add_story(app.db) for _ in range(4)]
    update_story(
        app.db, ready[0], text="Edited before publishing: Mr Okafor made chemistry fun."
    )
    not_ready = [
        add_story(app.db, status="pending", consent="unknown"),
        add_story(app.db, consent="declined"),
        add_story(app.db, text="Write to me at priya@example.org about Mr Okafor."),
    ]
    site.plan.extend(["500", "ok", "drop", "slow", "500", "500", "ok", "drop"])

    summary = publish_pending(app, wait=wait_none())

    assert summary.delivered == 4
    assert summary.failed == 0
    assert [story_id for story_id, _ in summary.held] == [not_ready[2]]
    assert site.bad_signatures == 0
    assert site.duplicates >= 1, "the slow answer should have caused a repeated request"
    for story_id in ready:
        versions = site.applied[key_of(app, story_id)]
        assert len(versions) == 1, story_id
        assert status_of(app, story_id) == "published"
    assert site.applied[key_of(app, ready[0])][0]["content_text"].startswith(
        "Edited before publishing"
    )
    for story_id in not_ready:
        assert key_of(app, story_id) not in site.applied
        assert status_of(app, story_id) != "published"

    requests_before = site.requests
    again = publish_pending(app, wait=wait_none())
    assert again.queued_upserts == 0
    assert site.requests == requests_before


def test_edits_and_withdrawals_reach_site(
    receiver: tuple[Receiver, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, url = receiver
    app = publish_app(sqlite_url, url, tmp_path, monkeypatch)
    edited, withdrawn, gone, rejected, kept = (add_story(app.db) for _ in range(5))
    publish_pending(app, wait=wait_none())
    assert len(site.site) == 5

    update_story(
        app.db, edited, text="Second version: Mr Okafor also ran the science club."
    )
    update_story(
        app.db,
        edited,
        text="Third version: Mr Okafor also ran the science club on Fridays.",
    )
    update_story(app.db, withdrawn, consent="withdrawn")
    update_story(app.db, gone, gone_at_source=datetime.now(timezone.utc))
    update_story(app.db, rejected, status="rejected")
    site.plan.extend(["drop", "500", "ok", "slow"])

    summary = publish_pending(app, wait=wait_none())

    assert summary.queued_upserts == 1
    assert summary.queued_deletes == 3
    assert summary.failed == 0
    assert set(site.site) == {key_of(app, edited), key_of(app, kept)}
    assert site.site[key_of(app, edited)]["content_text"].startswith("Third version")
    assert [doc["content_text"][:6] for doc in site.applied[key_of(app, edited)]] == [
        "Mr Oka",
        "Third ",
    ]
    for story_id in (withdrawn, gone, rejected):
        assert site.deleted[key_of(app, story_id)] == 1
    assert status_of(app, withdrawn) == "approved"
    assert status_of(app, rejected) == "rejected"

    requests_before = site.requests
    publish_pending(app, wait=wait_none())
    assert site.requests == requests_before

    update_story(app.db, withdrawn, consent="given")
    publish_pending(app, wait=wait_none())
    assert key_of(app, withdrawn) in site.site


def test_wrong_secret_is_rejected(
    receiver: tuple[Receiver, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, url = receiver
    app = publish_app(sqlite_url, url, tmp_path, monkeypatch)
    monkeypatch.setenv("TEST_PUBLISH_SECRET", "not-the-shared-secret")
    story_id = add_story(app.db)

    summary = publish_pending(app, wait=wait_none())

    assert summary.failed == 1
    assert site.bad_signatures == 1
    assert site.site == {}
    with app.db.read() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "failed"
        assert delivery.response_code == 401
        assert delivery.last_error == "HTTP 401"
    assert status_of(app, story_id) == "approved"


def test_retries_stop_at_max_attempts(
    receiver: tuple[Receiver, str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site, url = receiver
    app = publish_app(sqlite_url, url, tmp_path, monkeypatch)
    add_story(app.db)
    site.plan.extend(["500"] * 5)

    assert publish_pending(app, wait=wait_none()).failed == 1
    assert site.requests == 5
    with app.db.read() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.attempts == 5
        assert delivery.last_error == "HTTP 500 after 5 attempt(s)"

    summary = publish_pending(app, wait=wait_none())
    assert summary.delivered == 1
    assert len(site.site) == 1
