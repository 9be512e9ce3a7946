"""classify on stories built by hand: auto-replies, bounces, retweets, empty text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harvester.classify import classify
from harvester.records import Story

WHEN = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def email_story(
    text: str = "Mrs Okonkwo taught me to read.",
    subject: str = "My story",
    author_email: str = "teacher@school.example.org",
    **headers: str,
) -> Story:
    auto_headers = {
        "Content-Type": "text/plain",
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }
    return Story(
        "inbox",
        "mid:x@example.org",
        "email",
        text,
        WHEN,
        subject=subject,
        author_email=author_email,
        auto_headers=auto_headers,
    )


def test_person_mail_is_story() -> None:
    result = classify(email_story())

    assert result.kind == "story"
    assert result.is_story


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"Auto_Submitted": "auto-replied"},
            "auto-reply: Auto-Submitted: auto-replied header",
        ),
        (
            {"Auto_Submitted": "auto-generated"},
            "automatic message: Auto-Submitted: auto-generated header",
        ),
        ({"X_Autoreply": "yes"}, "auto-reply: X-Autoreply: yes header"),
        (
            {"X_Autorespond": "Out of office"},
            "auto-reply: X-Autorespond: Out of office header",
        ),
        ({"Precedence": "auto_reply"}, "auto-reply: Precedence: auto_reply header"),
        ({"Precedence": "bulk"}, "bulk mail: Precedence: bulk header"),
        ({"Precedence": "junk"}, "junk mail: Precedence: junk header"),
        (
            {"X_Apple_Action": "VACATION"},
            "auto-reply: X-Apple-Action: VACATION header (Apple vacation message)",
        ),
    ],
)
def test_auto_reply_headers(headers: dict[str, str], reason: str) -> None:
    result = classify(email_story(**headers))

    assert result.kind == "automated"
    assert result.reason == reason


def test_auto_submitted_no_is_story() -> None:
    assert classify(email_story(Auto_Submitted="no")).kind == "story"


def test_precedence_list_is_story() -> None:
    assert (
        classify(
            email_story(Precedence="list", List_Id="<staff.school.example.org>")
        ).kind
        == "story"
    )


def test_delivery_status_bounce() -> None:
    story = email_story(text="", author_email="postmaster@mail.example.org")
    story.auto_headers["Content-Type"] = "multipart/report; report-type=delivery-status"

    result = classify(story)

    assert result.kind == "automated"
    assert (
        result.reason
        == "bounce: Content-Type multipart/report; report-type=delivery-status"
    )


def test_failed_recipients_bounce() -> None:
    result = classify(email_story(X_Failed_Recipients="old@school.example.org"))

    assert result.kind == "automated"
    assert result.reason == "bounce: X-Failed-Recipients: old@school.example.org header"


def test_null_return_path() -> None:
    result = classify(email_story(Return_Path="<>"))

    assert result.kind == "automated"
    assert "empty Return-Path <>" in result.reason


def test_mailer_daemon_sender() -> None:
    result = classify(email_story(author_email="mailer-daemon@mail.example.org"))

    assert result.kind == "automated"
    assert result.reason == "bounce: sent by mailer-daemon@mail.example.org"


def test_subject_alone_is_not_enough() -> None:
    assert (
        classify(email_story(subject="Out of office: a story about my mentor")).kind
        == "story"
    )


def test_subject_and_suppress_header() -> None:
    result = classify(
        email_story(subject="Automatic reply: Nyaan", X_Auto_Response_Suppress="All")
    )

    assert result.kind == "automated"
    assert result.reason == (
        "automated mail: subject 'Automatic reply: Nyaan' and X-Auto-Response-Suppress: All header"
    )


def test_retweet() -> None:
    story = Story("x", "1900", "tweet", "RT @someone: text", WHEN, retweet_of="123")

    result = classify(story)

    assert result.kind == "retweet"
    assert result.reason == "repost of post 123"


def test_empty_mail_text_is_unreadable() -> None:
    result = classify(email_story(text="  \n "))

    assert result.kind == "unreadable"
    assert result.reason == "no story text after removing quotes and signature"


def test_automated_wins_over_empty_text() -> None:
    assert (
        classify(email_story(text="", Auto_Submitted="auto-replied")).kind
        == "automated"
    )


def test_binary_text_is_unreadable() -> None:
    noise = "".join(chr(code) for code in range(0, 32) if chr(code) not in "\n\r\t") * 3 + "ab" * 40
    story = Story(source="s", external_id="1", kind="email", text=noise, created_at=datetime.now(UTC))

    verdict = classify(story)

    assert verdict.kind == "unreadable"
    assert "binary" in verdict.reason
