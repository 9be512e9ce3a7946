"""Request tests of the review app with FastAPI's TestClient: login, CSRF, roles, writes, queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from harvester.app import App
from harvester.config import load_config
from harvester.review import create_app
from harvester.review.accounts import authenticate, set_password, update_curator
from harvester.review.decisions import ReviewError
from harvester.review.queue import Cursor, QueueFilters, build_query, fetch_queue
from harvester.review.security import SessionCodec
from store.models import AuditEvent, Curator, Quarantined, Story, TagRow, TrainingAlias
from tests.fixtures.browser import (
    NOW,
    PASSWORD,
    ReviewSite,
    make_review_app,
    seed_site,
    story_row,
)

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(review_site: ReviewSite) -> Iterator[TestClient]:
    with TestClient(create_app(review_site.app)) as test_client:
        yield test_client


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form and return the session's CSRF token."""
    form = client.get("/login")
    token = LOGIN_TOKEN.search(form.text).group(1)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/queue")
    return CSRF_META.search(page.text).group(1)


def story_status(site: ReviewSite, story_id: int) -> str:
    with site.app.db.read() as session:
        return session.get(Story, story_id).status


def audit_actions(site: ReviewSite, story_id: int) -> list[str]:
    with site.app.db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.story_id == story_id)
                .order_by(AuditEvent.id)
            )
        )


# Login and sessions


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/queue",
        "/stories/1",
        "/stories/1/raw",
        "/quarantine",
        "/dashboard",
        "/curators",
    ],
)
def test_pages_redirect_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_unauthenticated_post_is_401(
    client: TestClient, review_site: ReviewSite
) -> None:
    story_id = review_site.story_ids["okafor"]
    response = client.post(
        f"/stories/{story_id}/decision",
        data={"action": "approve"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert story_status(review_site, story_id) == "pending"


def test_login_redirects_to_next(client: TestClient, review_site: ReviewSite) -> None:
    form = client.get("/login?next=/dashboard")
    token = LOGIN_TOKEN.search(form.text).group(1)
    response = client.post(
        "/login",
        data={
            "email": review_site.curator_email.upper(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/dashboard",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_login_ignores_offsite_next(
    client: TestClient, review_site: ReviewSite
) -> None:
    form = client.get("/login")
    token = LOGIN_TOKEN.search(form.text).group(1)
    response = client.post(
        "/login",
        data={
            "email": review_site.curator_email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"


def test_wrong_password_then_throttle(
    client: TestClient, review_site: ReviewSite
) -> None:
    for _ in range(5):
        form = client.get("/login")
        token = LOGIN_TOKEN.search(form.text).group(1)
        response = client.post(
            "/login",
            data={
                "email": review_site.curator_email,
                "password": "wrong password!",
                "csrf_token": token,
            },
        )
        assert response.status_code == 401
        assert "Wrong email address or password." in response.text
    form = client.get("/login")
    token = LOGIN_TOKEN.search(form.text).group(1)
    response = client.post(
        "/login",
        data={
            "email": review_site.curator_email,
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 429


def test_login_form_needs_token(client: TestClient, review_site: ReviewSite) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": review_site.curator_email,
            "password": PASSWORD,
            "csrf_token": "forged",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "harvester_session" not in response.headers.get("set-cookie", "")


def test_disabled_curator_session_ends(
    client: TestClient, review_site: ReviewSite
) -> None:
    log_in(client, review_site.curator_email)
    assert client.get("/queue", follow_redirects=False).status_code == 200
    update_curator(review_site.app.db, review_site.curator_email, active=False)
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_password_change_ends_session(
    client: TestClient, review_site: ReviewSite
) -> None:
    log_in(client, review_site.curator_email)
    set_password(review_site.app.db, review_site.curator_email, "a brand new password")
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    log_in(client, review_site.curator_email, "a brand new password")
    assert client.get("/queue", follow_redirects=False).status_code == 200


def test_logout_clears_session(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_session_codec_expiry_and_forgery() -> None:
    codec = SessionCodec("key one", max_age_seconds=3600)
    token, data = codec.issue(7, "hash")
    assert codec.load(token) == data
    assert SessionCodec("key one", max_age_seconds=-1).load(token) is None
    assert SessionCodec("key two", max_age_seconds=3600).load(token) is None
    assert codec.load(token[:-2] + "xx") is None


def test_random_key_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HARVESTER_SECRET_KEY", raising=False)
    app = make_review_app(f"sqlite:///{tmp_path / 'key.db'}")
    create_app(app)
    assert "HARVESTER_SECRET_KEY is not set" in caplog.text
    app.close()


def test_security_headers(client: TestClient, review_site: ReviewSite) -> None:
    log_in(client, review_site.curator_email)
    response = client.get("/queue")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


# CSRF


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_decision_without_valid_csrf_rejected(
    client: TestClient, review_site: ReviewSite, token: str | None
) -> None:
    log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    data = {"action": "approve"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/stories/{story_id}/decision", data=data)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert story_status(review_site, story_id) == "pending"
    assert audit_actions(review_site, story_id) == []


def test_csrf_token_of_other_session_rejected(review_site: ReviewSite) -> None:
    api = create_app(review_site.app)
    with TestClient(api) as first, TestClient(api) as second:
        first_token = log_in(first, review_site.curator_email)
        log_in(second, review_site.admin_email)
        story_id = review_site.story_ids["okafor"]
        response = second.post(
            f"/stories/{story_id}/decision",
            data={"action": "approve", "csrf_token": first_token},
        )
        assert response.status_code == 403
        assert story_status(review_site, story_id) == "pending"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/queue/bulk", {"action": "approve", "ids": "1"}),
        ("/stories/1/text", {"text": "x", "version": "1"}),
        ("/stories/1/tags", {"kind": "person", "phrase": "Mrs Okafor"}),
        ("/stories/1/notes", {"note": "hello"}),
        ("/stories/1/consent", {"consent": "given", "attribution": "anonymous"}),
        ("/quarantine/1/release", {}),
        ("/curators", {"email": "new@example.org", "password": "long enough password"}),
        ("/logout", {}),
    ],
)
def test_every_form_checks_csrf(
    client: TestClient, review_site: ReviewSite, path: str, data: dict[str, str]
) -> None:
    log_in(client, review_site.admin_email)
    response = client.post(
        path, data={**data, "csrf_token": "wrong"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_csrf_header_accepted(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    response = client.post(
        f"/stories/{story_id}/decision",
        data={"action": "approve"},
        headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    assert response.json() == {"id": story_id, "status": "approved"}


# Roles


def test_curator_cannot_manage_curators(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.curator_email)
    assert client.get("/curators").status_code == 403
    response = client.post(
        "/curators",
        data={
            "email": "sneaky@example.org",
            "password": "long enough password",
            "role": "admin",
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 403
    response = client.post(
        "/curators/update",
        data={"email": review_site.curator_email, "role": "admin", "csrf_token": csrf},
    )
    assert response.status_code == 403
    with review_site.app.db.read() as session:
        assert (
            session.scalar(select(Curator).where(Curator.email == "sneaky@example.org"))
            is None
        )
        assert (
            session.scalar(
                select(Curator.role).where(Curator.email == review_site.curator_email)
            )
            == "curator"
        )


def test_admin_adds_and_disables_curator(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.admin_email)
    response = client.post(
        "/curators",
        data={
            "email": "New@Example.org",
            "password": "long enough password",
            "role": "curator",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/curators")
    assert "new@example.org" in page.text

    response = client.post(
        "/curators/update",
        data={"email": "new@example.org", "active": "no", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with review_site.app.db.read() as session:
        row = session.scalar(select(Curator).where(Curator.email == "new@example.org"))
        assert row.active is False
        actions = list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.story_id.is_(None))
            )
        )
    assert actions == ["curator_add", "curator_update"]


def test_last_admin_cannot_be_demoted(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.admin_email)
    response = client.post(
        "/curators/update",
        data={"email": review_site.admin_email, "role": "curator", "csrf_token": csrf},
    )
    assert response.status_code == 400
    assert "last active admin" in response.text


# Decisions and edits


def test_reject_needs_reason(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    response = client.post(
        f"/stories/{story_id}/decision", data={"action": "reject", "csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "needs a reason" in response.text
    assert story_status(review_site, story_id) == "pending"


def test_decision_writes_audit_event(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    client.post(
        f"/stories/{story_id}/decision",
        data={"action": "reject", "reason": "off topic", "csrf_token": csrf},
    )
    with review_site.app.db.read() as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.story_id == story_id)
        )
        assert event.action == "reject"
        assert event.actor == review_site.curator_email
        assert event.before == {"status": "pending", "status_reason": None}
        assert event.after == {"status": "rejected", "status_reason": "off topic"}
        assert session.get(Story, story_id).status_reason == "off topic"


def test_bulk_reports_skipped(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    ids = [review_site.story_ids["filler0"], review_site.story_ids["approved"], 999_999]
    response = client.post(
        "/queue/bulk",
        data={"action": "approve", "ids": [str(i) for i in ids], "csrf_token": csrf},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] == [review_site.story_ids["filler0"]]
    assert set(body["skipped"]) == {str(review_site.story_ids["approved"]), "999999"}


def test_bulk_reject_without_reason_changes_nothing(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.curator_email)
    ids = [review_site.story_ids["filler0"], review_site.story_ids["filler1"]]
    response = client.post(
        "/queue/bulk",
        data={"action": "reject", "ids": [str(i) for i in ids], "csrf_token": csrf},
    )
    assert response.status_code == 400
    assert all(story_status(review_site, story_id) == "pending" for story_id in ids)


def test_edit_text_keeps_original_and_moves_tags(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    new_text = "[name removed] pushed me to apply for NPQH and Ambition Institute coached me through it."
    response = client.post(
        f"/stories/{story_id}/text",
        data={"text": new_text, "version": "1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303

    with review_site.app.db.read() as session:
        story = session.get(Story, story_id)
        assert story.text == new_text
        assert story.original_text.startswith("Mrs Okafor pushed me")
        assert story.version == 2
        tags = {tag.text: (tag.start, tag.end) for tag in story.tags}
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.story_id == story_id)
        )
        assert event.action == "edit_text"
        assert event.before == {"text": story.original_text, "version": 1}
        assert event.after["dropped_tags"] == [{"kind": "person", "text": "Mrs Okafor"}]
    assert "Mrs Okafor" not in tags
    start, end = tags["NPQH"]
    assert new_text[start:end] == "NPQH"

    second = "[name removed] pushed me to apply for NPQH."
    response = client.post(
        f"/stories/{story_id}/text",
        data={"text": second, "version": "2", "csrf_token": csrf},
    )
    with review_site.app.db.read() as session:
        story = session.get(Story, story_id)
        assert story.original_text.startswith("Mrs Okafor pushed me")
        assert story.version == 3


def test_stale_edit_conflicts(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    client.post(
        f"/stories/{story_id}/text",
        data={"text": "First edit of the text.", "version": "1", "csrf_token": csrf},
    )
    response = client.post(
        f"/stories/{story_id}/text",
        data={"text": "Second edit.", "version": "1", "csrf_token": csrf},
    )
    assert response.status_code == 409
    assert "reload the page" in response.text


def test_correct_tag_adds_training_alias(
    client: TestClient, review_site: ReviewSite
) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    with review_site.app.db.read() as session:
        tag_id = session.scalar(
            select(TagRow.id).where(
                TagRow.story_id == story_id, TagRow.text == "Ambition Institute"
            )
        )
    response = client.post(
        f"/stories/{story_id}/tags/{tag_id}",
        data={
            "kind": "training",
            "name": "Ambition Institute NPQ programme",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303

    with review_site.app.db.read() as session:
        tag = session.get(TagRow, tag_id)
        alias = session.scalar(
            select(TrainingAlias).where(TrainingAlias.alias == "Ambition Institute")
        )
        actions = audit_actions(review_site, story_id)
        assert tag.kind == "training"
        assert tag.method == "curator"
        assert tag.name == "Ambition Institute NPQ programme"
        assert alias is not None
        assert alias.added_by == "curator"
        assert alias.training_id == tag.training_id
        assert session.get(Story, story_id).version == 2
    assert actions == ["training_alias", "correct_tag"]


def test_training_tag_needs_name(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    with review_site.app.db.read() as session:
        tag_id = session.scalar(
            select(TagRow.id)
            .where(TagRow.story_id == story_id, TagRow.kind == "person")
            .limit(1)
        )
    response = client.post(
        f"/stories/{story_id}/tags/{tag_id}",
        data={"kind": "training", "csrf_token": csrf},
    )
    assert response.status_code == 400


def test_add_pupil_tag_and_remove(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["approved"]
    response = client.post(
        f"/stories/{story_id}/tags",
        data={"kind": "person", "phrase": "maths", "pupil": "on", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with review_site.app.db.read() as session:
        tag = session.scalar(
            select(TagRow).where(TagRow.story_id == story_id, TagRow.text == "maths")
        )
        assert tag.pupil is True
        assert tag.method == "curator"
        tag_id = tag.id

    response = client.post(
        f"/stories/{story_id}/tags",
        data={"kind": "person", "phrase": "physics", "csrf_token": csrf},
    )
    assert response.status_code == 400
    assert "not found in the story text" in response.text

    client.post(f"/stories/{story_id}/tags/{tag_id}/delete", data={"csrf_token": csrf})
    with review_site.app.db.read() as session:
        assert session.get(TagRow, tag_id) is None
    assert audit_actions(review_site, story_id) == ["add_tag", "remove_tag"]


def test_consent_and_note_recorded(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["okafor"]
    client.post(
        f"/stories/{story_id}/consent",
        data={"consent": "given", "attribution": "first_name", "csrf_token": csrf},
    )
    client.post(
        f"/stories/{story_id}/notes",
        data={"note": "Asked by DM on 14 March", "csrf_token": csrf},
    )
    response = client.post(
        f"/stories/{story_id}/consent",
        data={"consent": "perhaps", "attribution": "first_name", "csrf_token": csrf},
    )
    assert response.status_code == 400

    with review_site.app.db.read() as session:
        story = session.get(Story, story_id)
        assert (story.consent, story.attribution, story.version) == (
            "given",
            "first_name",
            2,
        )
    page = client.get(f"/stories/{story_id}")
    assert "Asked by DM on 14 March" in page.text
    assert audit_actions(review_site, story_id) == ["consent", "note"]


def test_unknown_story_is_404(client: TestClient, review_site: ReviewSite) -> None:
    csrf = log_in(client, review_site.curator_email)
    assert client.get("/stories/999999").status_code == 404
    response = client.post(
        "/stories/999999/decision", data={"action": "approve", "csrf_token": csrf}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=all&after=2025-13-45T00:00:00Z~1", "invalid page cursor"),
        ("after=2025-01-01T00:00:00Z~9999999999999999999", "invalid page cursor"),
        ("date_to=9999-12-31", "invalid to date"),
        ("date_from=2025-02-30", "invalid from date"),
    ],
)
def test_crafted_queue_query_is_400(
    client: TestClient, review_site: ReviewSite, query: str, message: str
) -> None:
    log_in(client, review_site.curator_email)
    response = client.get(f"/queue?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_story_id_out_of_range_is_404(
    client: TestClient, review_site: ReviewSite
) -> None:
    huge = "99999999999999999999999"
    assert client.get(f"/stories/{huge}", follow_redirects=False).status_code == 303
    csrf = log_in(client, review_site.curator_email)
    page = client.get(f"/stories/{huge}")
    assert page.status_code == 404
    assert f"story {huge} not found" in page.text
    assert client.get(f"/stories/-{huge}").status_code == 404
    assert client.get(f"/stories/{huge}/raw").status_code == 404
    response = client.post(
        f"/stories/{huge}/decision", data={"action": "approve", "csrf_token": csrf}
    )
    assert response.status_code == 404
    response = client.post(
        f"/quarantine/{huge}/release", data={"csrf_token": csrf}
    )
    assert response.status_code == 404

    okafor = review_site.story_ids["okafor"]
    response = client.post(
        "/queue/bulk",
        data={"action": "approve", "ids": [huge, str(okafor)], "csrf_token": csrf},
        headers={"x-requested-with": "fetch"},
    )
    assert response.status_code == 200
    assert response.json() == {"changed": [okafor], "skipped": {huge: "not found"}}


def test_empty_queue_messages(client: TestClient, review_site: ReviewSite) -> None:
    log_in(client, review_site.curator_email)
    page = client.get("/queue?status=published").text
    assert "No stories with this status yet." in page
    assert "No stories match these filters." not in page
    page = client.get("/queue?status=pending&q=no+such+words").text
    assert "No stories match these filters." in page
    assert "No stories with this status yet." not in page


def publication_text(client: TestClient, story_id: int) -> str:
    page = client.get(f"/stories/{story_id}")
    assert page.status_code == 200
    match = re.search(r'<dd id="story-publication"[^>]*>(.*?)</dd>', page.text, re.DOTALL)
    assert match, "the story page has no publication line"
    return " ".join(match.group(1).split())


def test_story_page_shows_publication(
    client: TestClient, review_site: ReviewSite
) -> None:
    log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["approved"]
    assert publication_text(client, story_id) == "ready to publish"
    queue = client.get("/queue?status=approved").text
    assert "publication-badge" not in queue

    with review_site.app.db.write() as session:
        story = session.get(Story, story_id)
        story.text = "Mr Patel <b>taught</b> me NPQH maths. Mail patel@school.example.org."
    publication = publication_text(client, story_id)
    assert publication.startswith("held back:")
    assert "text contains 1 email address(es): remove them before publishing" in publication
    queue = client.get("/queue?status=approved").text
    assert 'title="held back: text contains 1 email address(es)' in queue
    assert ">held back</span>" in queue
    assert "<b>taught</b>" not in queue

    with review_site.app.db.write() as session:
        session.get(Story, story_id).consent = "unknown"
    assert publication_text(client, story_id) == (
        "will not be published until consent is given (consent is unknown)"
    )
    queue = client.get("/queue?status=approved").text
    assert ">no consent</span>" in queue

    pending = review_site.story_ids["okafor"]
    assert 'id="story-publication"' not in client.get(f"/stories/{pending}").text


# Untrusted content


def test_hostile_story_escaped(client: TestClient, review_site: ReviewSite) -> None:
    log_in(client, review_site.curator_email)
    story_id = review_site.story_ids["hostile"]
    page = client.get(f"/stories/{story_id}").text

    assert "<script>window.__pwned" not in page
    assert '<img src=x onerror="window.__pwned' not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "javascript:window.__pwned" not in page
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in frame
    assert "<script" not in frame
    assert "window.parent.__pwned = 5" not in page

    queue = client.get("/queue").text
    assert "<script>window.__pwned" not in queue
    assert "&lt;script&gt;window.__pwned = 4&lt;/script&gt;" in queue


def test_raw_message_is_plain_text(client: TestClient, review_site: ReviewSite) -> None:
    log_in(client, review_site.curator_email)
    with review_site.app.db.write() as session:
        story = session.get(Story, review_site.story_ids["hostile"])
        raw_id = session.scalar(select(Quarantined.raw_item_id))
        story.raw_item_id = raw_id
    response = client.get(f"/stories/{review_site.story_ids['hostile']}/raw")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "Subject: My mentor" in response.text


# Quarantine


def test_quarantine_lists_reason(client: TestClient, review_site: ReviewSite) -> None:
    log_in(client, review_site.curator_email)
    page = client.get("/quarantine").text
    assert "auto-reply: Auto-Submitted: auto-replied header" in page
    assert "This is a story after all" in page


def test_release_quarantined_mail(client: TestClient, review_site: ReviewSite) -> None:
    try:
        import harvester.pipeline  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the pipeline cannot be imported yet: {error}")
    csrf = log_in(client, review_site.curator_email)
    response = client.post(
        f"/quarantine/{review_site.quarantine_id}/release",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    story_id = int(response.headers["location"].rsplit("/", 1)[1])

    with review_site.app.db.read() as session:
        story = session.get(Story, story_id)
        item = session.get(Quarantined, review_site.quarantine_id)
        assert story.status == "pending"
        assert story.classification == "story"
        assert "Mrs Okafor mentored me" in story.text
        assert "released from quarantine" in story.classification_reason
        assert item.released_at is not None
    assert audit_actions(review_site, story_id) == ["release"]

    again = client.post(
        f"/quarantine/{review_site.quarantine_id}/release", data={"csrf_token": csrf}
    )
    assert again.status_code == 400


# Queue queries on SQLite and PostgreSQL


@pytest.fixture
def seeded(
    database_url: str, monkeypatch: pytest.MonkeyPatch, fast_argon2: None
) -> Iterator[ReviewSite]:
    monkeypatch.setenv("HARVESTER_SECRET_KEY", "test signing key for review sessions")
    app = make_review_app(database_url)
    site = seed_site(app, bulk=0)
    # Many stories share one timestamp, so pages must break ties on the id.
    with app.db.write() as session:
        session.add_all(
            [
                story_row(1000 + number, created_at=NOW - timedelta(days=3))
                for number in range(120)
            ]
        )
    yield site
    app.close()


def test_keyset_pages_cover_every_story(seeded: ReviewSite) -> None:
    filters = QueueFilters.from_params({"status": "pending"})
    seen: list[int] = []
    keys = []
    after = None
    with seeded.app.db.read() as session:
        expected = session.scalar(
            select(func.count()).select_from(Story).where(Story.status == "pending")
        )
        while True:
            page = fetch_queue(session, filters, after, limit=25)
            seen.extend(row.id for row in page.rows)
            keys.extend((row.created_at, row.id) for row in page.rows)
            if page.next_cursor is None:
                break
            after = Cursor.decode(page.next_cursor.encode())
    assert len(seen) == expected
    assert len(set(seen)) == len(seen)
    assert keys == sorted(keys, reverse=True)


def test_queue_filters(seeded: ReviewSite) -> None:
    def ids(**params: str) -> set[int]:
        with seeded.app.db.read() as session:
            page = fetch_queue(session, QueueFilters.from_params(params), limit=500)
        return {row.id for row in page.rows}

    okafor, hostile, approved = (
        seeded.story_ids[name] for name in ("okafor", "hostile", "approved")
    )
    assert ids(person="okafor") == {okafor}
    assert ids(training="npqh", status="all") == {okafor, approved}
    assert ids(training="npqh") == {okafor}
    assert ids(source="inbox") == {hostile}
    assert ids(q="100%") == set()
    assert ids(q="PUSHED ME") == {okafor}
    day = NOW.date().isoformat()
    assert ids(date_from=day, date_to=day) == {okafor, hostile}
    assert hostile not in ids(date_to=(NOW - timedelta(days=1)).date().isoformat())
    assert ids(status="approved") == {approved}


def test_dashboard_renders_charts(seeded: ReviewSite) -> None:
    with TestClient(create_app(seeded.app)) as client:
        log_in(client, seeded.curator_email)
        page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") == 4
    assert "No data yet." not in page.text
    assert "Mr Patel" in page.text
    assert "NPQ for Headship" in page.text


def test_queue_query_uses_status_index(review_site: ReviewSite) -> None:
    after = Cursor(NOW, 10)
    query = build_query(QueueFilters.from_params({"status": "pending"}), after, 50)
    with review_site.app.db.read() as session:
        compiled = query.compile(
            session.get_bind(), compile_kwargs={"literal_binds": True}
        )
        plan = " ".join(
            str(row[-1])
            for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    assert "ix_stories_status_created" in plan
    assert "TEMP B-TREE" not in plan


# Command line


def test_curators_cli(tmp_path: Path, fast_argon2: None) -> None:
    from harvester.cli import cli

    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'cli.db'}\n")
    runner = CliRunner()
    password = "a long enough password"

    result = runner.invoke(
        cli,
        [
            "--config",
            str(config),
            "curators",
            "add",
            "Boss@Example.org",
            "--role",
            "admin",
        ],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "added admin boss@example.org" in result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "add", "boss@example.org"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 2
    assert "already exists" in result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "add", "short@example.org"],
        input="short\nshort\n",
    )
    assert result.exit_code == 2
    assert "shorter than" in result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "add", "helper@example.org"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0
    result = runner.invoke(
        cli, ["--config", str(config), "curators", "disable", "helper@example.org"]
    )
    assert result.exit_code == 0
    result = runner.invoke(cli, ["--config", str(config), "curators", "list"])
    assert "boss@example.org\tadmin\tactive" in result.output
    assert "helper@example.org\tcurator\tdisabled" in result.output

    result = runner.invoke(
        cli, ["--config", str(config), "curators", "disable", "nobody@example.org"]
    )
    assert result.exit_code == 2
    assert "not found" in result.output


def test_curators_passwd_cli(tmp_path: Path, fast_argon2: None) -> None:
    from harvester.cli import cli

    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'cli.db'}\n")
    runner = CliRunner()
    old_password = "a long enough password"
    new_password = "a newer long password"
    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "add", "helper@example.org"],
        input=f"{old_password}\n{old_password}\n",
    )
    assert result.exit_code == 0, result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "passwd", "Helper@Example.org"],
        input=f"{new_password}\n{new_password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "changed the password of helper@example.org" in result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "passwd", "helper@example.org"],
        input="too short\ntoo short\n",
    )
    assert result.exit_code == 2
    assert "shorter than" in result.output

    result = runner.invoke(
        cli,
        ["--config", str(config), "curators", "passwd", "nobody@example.org"],
        input=f"{new_password}\n{new_password}\n",
    )
    assert result.exit_code == 2
    assert "not found" in result.output

    app = App.from_config(load_config(config))
    try:
        assert authenticate(app.db, "helper@example.org", old_password) is None
        assert authenticate(app.db, "helper@example.org", new_password) is not None
        with app.db.read() as session:
            actions = list(session.scalars(select(AuditEvent.action)))
        assert actions.count("curator_password") == 1
    finally:
        app.close()


def test_review_error_is_harvester_error() -> None:
    from harvester.errors import HarvesterError

    assert issubclass(ReviewError, HarvesterError)
