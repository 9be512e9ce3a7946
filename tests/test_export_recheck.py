"""Recheck: posts the X API reports gone are taken back."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from harvester.export.recheck import recheck_posts
from store.models import Story
from tests.conftest import make_app
from tests.export_support import add_story

LOOKUP_URL = "https://api.twitter.com/2/tweets"


def not_found(post_id: str) -> dict:
    return {
        "value": post_id,
        "detail": f"Could not find tweet with ids: [{post_id}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": post_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def not_authorized(post_id: str) -> dict:
    return {
        "value": post_id,
        "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{post_id}].",
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": post_id,
        "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
    }


@responses.activate
def test_recheck_marks_gone_posts(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", "test-bearer-token")
    app = make_app(
        sqlite_url,
        {"x": {"type": "twitter", "bearer_token_env": "TEST_X_TOKEN"}},
        base_dir=tmp_path,
    )
    live = add_story(app.db, external_id="1001", status="published")
    deleted = add_story(app.db, external_id="1002", status="published")
    protected = add_story(app.db, external_id="1003", status="published")
    unreleased = add_story(app.db, external_id="1004", status="pending")
    responses.get(
        LOOKUP_URL,
        json={
            "data": [{"id": "1001", "text": "Mr Okafor taught me chemistry"}],
            "errors": [not_found("1002"), not_authorized("1003")],
        },
    )

    summary = recheck_posts(app)

    assert summary.requests == 1
    assert summary.checked == 3
    assert sorted(summary.gone) == sorted([deleted, protected])
    assert "ids=1001%2C1002%2C1003" in responses.calls[0].request.url
    with app.db.read() as session:
        assert session.get(Story, live).gone_at_source is None
        assert session.get(Story, live).checked_at is not None
        assert session.get(Story, deleted).gone_at_source is not None
        assert session.get(Story, protected).gone_at_source is not None
        assert session.get(Story, unreleased).checked_at is None


@responses.activate
def test_recheck_stops_on_rate_limit(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", "test-bearer-token")
    app = make_app(
        sqlite_url,
        {"x": {"type": "twitter", "bearer_token_env": "TEST_X_TOKEN"}},
        base_dir=tmp_path,
    )
    story_id = add_story(app.db, external_id="2001", status="published")
    responses.get(
        LOOKUP_URL,
        status=429,
        json={"title": "Too Many Requests"},
        headers={"x-rate-limit-reset": "1900000000"},
    )

    summary = recheck_posts(app)

    assert summary.rate_limited_until is not None
    assert summary.checked == 0
    with app.db.read() as session:
        assert session.get(Story, story_id).checked_at is None
