"""Privacy guard: contact details and pupils' names hold a story back."""

from __future__ import annotations

import pytest

from harvester.export.privacy import find_phone_numbers, privacy_reasons


@pytest.mark.parametrize(
    "text",
    [
        "Ring me on 07700 900123 after school.",
        "Office: 020 7946 0958",
        "Call +44 (0)161 496 0000 any time",
        "Our number in Boston is +1 415 555 2671.",
        "Dial 0161-496-0000.",
    ],
)
def test_phone_numbers_found(text: str) -> None:
    assert find_phone_numbers(text), text
    assert privacy_reasons(text) == [
        "text contains 1 phone number(s): remove them before publishing"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "From 1998 to 2004 she taught Year 7.",
        "In 2019 I had 30 pupils in room 12.",
        "Scores went from 2019-2020 onwards.",
        "We met on 12/03/2019 at 10:30.",
    ],
)
def test_years_and_dates_pass(text: str) -> None:
    assert privacy_reasons(text) == []


def test_email_address_held() -> None:
    reasons = privacy_reasons(
        "Write to priya.shah+stories@mail.hillside.sch.uk for details."
    )
    assert reasons == [
        "text contains 1 email address(es): remove them before publishing"
    ]
    assert "priya" not in reasons[0]


def test_pupil_name_held() -> None:
    reasons = privacy_reasons(
        "Mr Okafor helped Sam Lee pass his exams.", ["sam lee", ""]
    )
    assert len(reasons) == 1
    assert reasons[0].startswith("text names 1 person(s) tagged as a pupil")


def test_pupil_name_whole_words_only() -> None:
    assert privacy_reasons("Samuel was my teacher.", ["Sam"]) == []


def test_clean_story_passes() -> None:
    assert privacy_reasons("Mr Okafor taught me to love chemistry.", ["Sam"]) == []


def test_unicode_addresses_held_back() -> None:
    for text in ("write to ann@münchen.de", "ann＠school.example"):
        assert privacy_reasons(text), text


def test_author_name_with_number_held(sqlite_url: str) -> None:
    from sqlalchemy.orm import selectinload
    from sqlalchemy import select

    from harvester.export.items import decide
    from store.db import Database
    from store.models import Story
    from tests.export_support import add_story

    db = Database(sqlite_url)
    story_id = add_story(db, kind="email", author_name="Ann Lee 07700 900456", author_handle=None)
    with db.read() as session:
        story = session.scalars(select(Story).options(selectinload(Story.tags)).where(Story.id == story_id)).one()
        decision = decide(story)
    db.dispose()

    assert decision.action == "hold"
    assert any("phone number" in reason for reason in decision.reasons)
