"""The ``twitter`` source against a fake X API v2 served at the HTTP layer."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tenacity import wait_none

import sources.twitter as twitter
from harvester.config import TwitterSource
from harvester.errors import (
    PermanentSourceError,
    RateLimited,
    TransientSourceError,
    UsageError,
)
from harvester.records import Batch
from sources.twitter import SearchCheckpoint, TwitterSearch, lookup_posts
from tests.fixtures.x_api import FakeXApi


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twitter, "RETRY_WAIT", wait_none())


def settings(**options: Any) -> TwitterSource:
    return TwitterSource(type="twitter", max_results=10, **options)


def add_posts(api: FakeXApi, count: int) -> list[dict[str, Any]]:
    factory = api.factory
    posts = [
        factory.post(
            factory.teacher(index),
            f"Story {index}: my NPQH coach believed in me #ConnectED",
        )
        for index in range(count)
    ]
    api.add(*posts)
    return posts


def post_ids(batches: list[Batch]) -> list[str]:
    return [item.external_id for batch in batches for item in batch.items]


def newest(posts: list[dict[str, Any]]) -> str:
    return max((post["id"] for post in posts), key=int)


def test_search_pages_into_batches(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 25)
    batches = list(TwitterSearch("x", settings()).fetch(None))

    assert [len(batch.items) for batch in batches] == [10, 10, 5]
    assert sorted(post_ids(batches)) == sorted(post["id"] for post in posts)
    assert all(
        item.kind == "tweet" and item.source == "x"
        for batch in batches
        for item in batch.items
    )
    request = fake_x.search_requests[0]
    assert request.params["query"] == "#ConnectED"
    assert request.params["max_results"] == "10"
    assert "note_tweet" in request.params["tweet.fields"].split(",")
    assert (
        request.params["expansions"]
        == "author_id,entities.mentions.username,referenced_tweets.id"
    )
    assert request.params["user.fields"] == "name,username"


def test_since_id_only_on_final_batch(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 25)
    batches = list(TwitterSearch("x", settings()).fetch({"since_id": None}))
    checkpoints = [batch.checkpoint for batch in batches]

    assert checkpoints[0]["since_id"] is None
    assert checkpoints[0]["next_token"]
    assert checkpoints[0]["newest_id"] == newest(posts)
    assert checkpoints[1]["since_id"] is None
    assert checkpoints[-1] == {
        "since_id": newest(posts),
        "next_token": None,
        "newest_id": None,
        "reset_at": None,
    }


def test_next_search_starts_after_since_id(fake_x: FakeXApi) -> None:
    first = add_posts(fake_x, 12)
    final = list(TwitterSearch("x", settings()).fetch(None))[-1].checkpoint
    later = add_posts(fake_x, 3)

    batches = list(TwitterSearch("x", settings()).fetch(final))

    assert fake_x.search_requests[-1].params["since_id"] == newest(first)
    assert sorted(post_ids(batches)) == sorted(post["id"] for post in later)
    assert batches[-1].checkpoint["since_id"] == newest(later)


def test_no_new_posts_keeps_since_id(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 3)
    checkpoint = {"since_id": newest(posts)}
    batches = list(TwitterSearch("x", settings()).fetch(checkpoint))
    assert post_ids(batches) == []
    assert batches[-1].checkpoint["since_id"] == newest(posts)


def test_zero_result_page_continues(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 15)
    fake_x.empty_page_at(1)
    batches = list(TwitterSearch("x", settings()).fetch(None))

    assert [len(batch.items) for batch in batches] == [0, 10, 5]
    assert batches[0].checkpoint["next_token"]
    assert sorted(post_ids(batches)) == sorted(post["id"] for post in posts)
    assert batches[-1].checkpoint["since_id"] == newest(posts)


def test_rate_limit_saves_token_and_reset(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 25)
    reset = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=9)
    fake_x.fail(429, at=2, reset_at=reset)
    batches: list[Batch] = []

    with pytest.raises(RateLimited) as caught:
        for batch in TwitterSearch("x", settings()).fetch(None):
            batches.append(batch)

    assert caught.value.reset_at == reset
    assert [len(batch.items) for batch in batches] == [10, 0]
    saved = batches[-1].checkpoint
    assert saved["next_token"] == batches[0].checkpoint["next_token"]
    assert saved["reset_at"] == reset.isoformat()
    assert saved["since_id"] is None
    assert saved["newest_id"] == newest(posts)


def test_rate_limited_run_waits_then_resumes(
    fake_x: FakeXApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = add_posts(fake_x, 25)
    reset = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=9)
    fake_x.fail(429, at=2, reset_at=reset)
    first: list[Batch] = []
    with pytest.raises(RateLimited):
        for batch in TwitterSearch("x", settings()).fetch(None):
            first.append(batch)
    saved = first[-1].checkpoint
    requests_before = len(fake_x.search_requests)

    early = list(TwitterSearch("x", settings()).fetch(saved))
    assert early == []
    assert len(fake_x.search_requests) == requests_before

    source = TwitterSearch("x", settings())
    monkeypatch.setattr(source, "_now", lambda: reset + timedelta(seconds=1))
    resumed = list(source.fetch(saved))

    resumed_requests = fake_x.search_requests[requests_before:]
    assert resumed_requests[0].params["next_token"] == saved["next_token"]
    assert all("next_token" in request.params for request in resumed_requests)
    assert sorted(post_ids(first) + post_ids(resumed)) == sorted(
        post["id"] for post in posts
    )
    assert len(post_ids(first) + post_ids(resumed)) == len(posts)
    assert resumed[-1].checkpoint == {
        "since_id": newest(posts),
        "next_token": None,
        "newest_id": None,
        "reset_at": None,
    }


def test_rate_limit_without_reset_header(fake_x: FakeXApi) -> None:
    add_posts(fake_x, 3)
    fake_x.fail(429, at=1)
    before = datetime.now(timezone.utc)
    with pytest.raises(RateLimited) as caught:
        list(TwitterSearch("x", settings()).fetch(None))
    assert caught.value.reset_at is not None
    assert caught.value.reset_at >= before + timedelta(minutes=15)


def test_unauthorized_names_the_token_variable(
    fake_x: FakeXApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "revoked-token-987654321")
    with pytest.raises(PermanentSourceError) as caught:
        list(TwitterSearch("x", settings()).fetch(None))
    message = str(caught.value)
    assert "X API rejected the bearer token" in message
    assert "X_BEARER_TOKEN" in message
    assert "revoked-token-987654321" not in message
    assert len(fake_x.search_requests) == 1


def test_missing_token_variable_is_config_error(
    fake_x: FakeXApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harvester.errors import ConfigError

    monkeypatch.delenv("X_BEARER_TOKEN")
    with pytest.raises(ConfigError, match="X_BEARER_TOKEN"):
        list(TwitterSearch("x", settings()).fetch(None))
    assert fake_x.search_requests == []


def test_server_error_is_retried(
    fake_x: FakeXApi, caplog: pytest.LogCaptureFixture
) -> None:
    posts = add_posts(fake_x, 5)
    fake_x.fail(503, at=1, times=2)
    caplog.set_level(logging.WARNING, logger="sources.twitter")
    batches = list(TwitterSearch("x", settings()).fetch(None))

    assert sorted(post_ids(batches)) == sorted(post["id"] for post in posts)
    assert len(fake_x.search_requests) == 3
    assert caplog.text.count("retry") == 2


def test_server_error_gives_up_as_transient(fake_x: FakeXApi) -> None:
    add_posts(fake_x, 5)
    fake_x.fail(503, at=1, times=twitter.RETRY_ATTEMPTS)
    with pytest.raises(TransientSourceError, match="503"):
        list(TwitterSearch("x", settings()).fetch(None))
    assert len(fake_x.search_requests) == twitter.RETRY_ATTEMPTS


def test_old_since_id_is_dropped(
    fake_x: FakeXApi, caplog: pytest.LogCaptureFixture
) -> None:
    posts = add_posts(fake_x, 4)
    fake_x.oldest_since_id = posts[0]["id"]
    stale = str(int(posts[0]["id"]) - 10_000)
    caplog.set_level(logging.WARNING, logger="sources.twitter")

    batches = list(TwitterSearch("x", settings()).fetch({"since_id": stale}))

    assert sorted(post_ids(batches)) == sorted(post["id"] for post in posts)
    assert fake_x.search_requests[0].params["since_id"] == stale
    assert "since_id" not in fake_x.search_requests[1].params
    assert "rejected since_id" in caplog.text
    assert batches[-1].checkpoint["since_id"] == newest(posts)


def test_invalid_saved_token_restarts_search(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 4)
    batches = list(
        TwitterSearch("x", settings()).fetch({"next_token": "expired-token"})
    )
    assert sorted(post_ids(batches)) == sorted(post["id"] for post in posts)
    assert "next_token" not in fake_x.search_requests[1].params


def test_bad_query_is_permanent(fake_x: FakeXApi) -> None:
    with pytest.raises(PermanentSourceError, match="check 'query'"):
        list(TwitterSearch("x", settings(query="#ConnectED OR " * 50)).fetch(None))
    assert len(fake_x.search_requests) == 1


def test_every_request_has_timeout(fake_x: FakeXApi) -> None:
    add_posts(fake_x, 15)
    list(TwitterSearch("x", settings(timeout=12.5)).fetch(None))
    assert [request.timeout for request in fake_x.search_requests] == [12.5, 12.5]


def test_token_absent_from_debug_logs(
    fake_x: FakeXApi, caplog: pytest.LogCaptureFixture
) -> None:
    add_posts(fake_x, 15)
    fake_x.fail(503, at=2)
    caplog.set_level(logging.DEBUG)
    list(TwitterSearch("x", settings()).fetch(None))

    assert "Authorization" in caplog.text  # tweepy logged the request headers
    assert fake_x.bearer_token not in caplog.text
    for record in caplog.records:
        assert fake_x.bearer_token not in record.getMessage()


def test_lookup_posts_statuses(fake_x: FakeXApi) -> None:
    posts = add_posts(fake_x, 150)
    deleted = posts[3]["id"]
    fake_x.deleted.add(deleted)
    ids = [post["id"] for post in posts]

    statuses = lookup_posts(settings(), ids)

    assert len(statuses) == 150
    assert statuses[deleted] == "deleted"
    assert statuses[posts[0]["id"]] == "ok"
    assert sum(status == "ok" for status in statuses.values()) == 149
    lookups = [request for request in fake_x.requests if request.path == "/2/tweets"]
    assert [len(request.params["ids"].split(",")) for request in lookups] == [100, 50]


def test_lookup_rejects_invalid_id(fake_x: FakeXApi) -> None:
    with pytest.raises(UsageError, match="'abc'"):
        lookup_posts(settings(), ["123", "abc"])
    assert fake_x.requests == []


def test_checkpoint_round_trip() -> None:
    reset = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    state = SearchCheckpoint(
        since_id="5", next_token="t", newest_id="9", reset_at=reset
    )
    assert SearchCheckpoint.from_dict(state.to_dict()) == state
    assert SearchCheckpoint.from_dict(None) == SearchCheckpoint()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Start a loopback TCP server that accepts connections and never sends a response."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_silent_server_times_out(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "loopback-token-123456")
    source = TwitterSearch("x", settings(base_url=silent_server, timeout=0.3))
    with pytest.raises(TransientSourceError, match="timed out|Read timed out"):
        list(source.fetch(None))
    source.close()


# Through the pipeline: checkpoints are stored in the same transaction as the posts.


def stored_checkpoint(app: Any, source: str = "x") -> dict[str, Any] | None:
    from store import queries

    with app.db.read() as session:
        return queries.load_checkpoint(session, source)


def stored_story_ids(app: Any) -> list[str]:
    from sqlalchemy import select

    from store.models import Story

    with app.db.read() as session:
        return sorted(session.scalars(select(Story.external_id)))


def test_pipeline_resumes_after_stop(fake_x: FakeXApi, sqlite_url: str) -> None:
    from harvester.pipeline import harvest
    from tests.conftest import make_app

    posts = add_posts(fake_x, 25)
    app = make_app(sqlite_url, {"x": {"type": "twitter", "max_results": 10}})
    stop = threading.Event()

    first = harvest(app, "x", stop=stop, on_batch=lambda summary: stop.set())
    after_first = stored_checkpoint(app)
    assert first.status == "stopped"
    assert first.new == 10
    assert after_first is not None
    assert after_first["since_id"] is None
    assert after_first["next_token"]

    second = harvest(app, "x")
    assert second.status == "ok"
    assert second.new == 15
    assert fake_x.search_requests[1].params["next_token"] == after_first["next_token"]
    assert stored_checkpoint(app)["since_id"] == newest(posts)
    assert stored_story_ids(app) == sorted(post["id"] for post in posts)

    third = harvest(app, "x")
    assert third.new == 0
    assert fake_x.search_requests[-1].params["since_id"] == newest(posts)
    app.close()


def test_pipeline_rate_limited_run(fake_x: FakeXApi, sqlite_url: str) -> None:
    from harvester.pipeline import harvest
    from tests.conftest import make_app

    add_posts(fake_x, 25)
    reset = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=9)
    fake_x.fail(429, at=2, reset_at=reset)
    app = make_app(sqlite_url, {"x": {"type": "twitter", "max_results": 10}})

    summary = harvest(app, "x")
    checkpoint = stored_checkpoint(app)
    assert summary.status == "rate_limited"
    assert summary.new == 10
    assert checkpoint is not None
    assert checkpoint["reset_at"] == reset.isoformat()
    assert checkpoint["next_token"]

    requests_before = len(fake_x.search_requests)
    early = harvest(app, "x")
    assert early.status == "ok"
    assert early.fetched == 0
    assert len(fake_x.search_requests) == requests_before
    app.close()


def test_pipeline_unauthorized_fails_source(
    fake_x: FakeXApi, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harvester.pipeline import harvest
    from tests.conftest import make_app

    monkeypatch.setenv("X_BEARER_TOKEN", "revoked-token-987654321")
    app = make_app(sqlite_url, {"x": {"type": "twitter"}})
    summary = harvest(app, "x")
    assert summary.status == "failed"
    assert "X API rejected the bearer token" in (summary.error or "")
    assert stored_checkpoint(app) is None
    app.close()
