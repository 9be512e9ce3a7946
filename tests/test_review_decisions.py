"""Pure review rules: status transitions, highlighting, tag offsets after edits, charts, cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harvester.export.items import decide
from harvester.review import charts
from harvester.review.decisions import (
    ReviewError,
    TagSpan,
    adjust_tags_for_edit,
    find_phrase,
    highlight_segments,
    next_status,
    training_alias,
    validate_consent,
)
from harvester.review.publication import publication_state
from harvester.review.queue import Cursor, QueueFilters
from store.models import Story, TagRow


@pytest.mark.parametrize(
    ("current", "decision", "expected"),
    [
        ("pending", "approve", "approved"),
        ("rejected", "approve", "approved"),
        ("needs_consent", "approve", "approved"),
        ("pending", "needs_consent", "needs_consent"),
        ("published", "reject", "rejected"),
        ("duplicate", "reopen", "pending"),
        ("approved", "reopen", "pending"),
    ],
)
def test_next_status_allowed(current: str, decision: str, expected: str) -> None:
    assert next_status(current, decision, "a reason") == expected


@pytest.mark.parametrize(
    ("current", "decision"),
    [
        ("approved", "approve"),
        ("published", "approve"),
        ("rejected", "reject"),
        ("pending", "reopen"),
        ("pending", "publish"),
    ],
)
def test_next_status_rejected(current: str, decision: str) -> None:
    with pytest.raises(ReviewError):
        next_status(current, decision, "a reason")


def test_reject_needs_reason() -> None:
    with pytest.raises(ReviewError, match="needs a reason"):
        next_status("pending", "reject", "   ")
    assert next_status("pending", "reject", "off topic") == "rejected"


def test_consent_values_checked() -> None:
    validate_consent("given", "first_name")
    with pytest.raises(ReviewError, match="invalid consent"):
        validate_consent("maybe", "first_name")
    with pytest.raises(ReviewError, match="invalid attribution"):
        validate_consent("given", "nickname")


def span(
    kind: str, text: str, source: str, occurrence: int = 0, tag_id: int | None = None
) -> TagSpan:
    start = -1
    for _ in range(occurrence + 1):
        start = source.index(text, start + 1)
    return TagSpan(kind=kind, start=start, end=start + len(text), text=text, id=tag_id)


def test_highlight_covers_whole_text() -> None:
    text = "Mrs Okafor sent me on the NPQH course."
    tags = [span("training", "NPQH", text), span("person", "Mrs Okafor", text)]
    segments = highlight_segments(text, tags)

    assert "".join(segment.text for segment in segments) == text
    assert [
        (segment.text, segment.tag.kind) for segment in segments if segment.tag
    ] == [
        ("Mrs Okafor", "person"),
        ("NPQH", "training"),
    ]
    for segment in segments:
        assert text[segment.start : segment.start + len(segment.text)] == segment.text


def test_highlight_skips_stale_and_overlapping() -> None:
    text = "Mr Jones and Mrs Jones"
    stale = TagSpan(kind="person", start=0, end=8, text="Mr Smith")
    outer = span("person", "Mrs Jones", text)
    inner = span("person", "Jones", text, occurrence=1)
    segments = highlight_segments(text, [stale, inner, outer])

    tagged = [segment for segment in segments if segment.tag]
    assert [segment.text for segment in tagged] == ["Mrs Jones"]
    assert "".join(segment.text for segment in segments) == text


def test_highlight_keeps_markup_as_text() -> None:
    text = "<b>Mrs Okafor</b>"
    segments = highlight_segments(text, [span("person", "Mrs Okafor", text)])
    assert [segment.text for segment in segments] == ["<b>", "Mrs Okafor", "</b>"]


def test_edit_before_tag_shifts_it() -> None:
    old = "Call 07700 900123 to thank Mrs Okafor for NPQH."
    new = "Call [phone removed] to thank Mrs Okafor for NPQH."
    tags = [
        span("person", "Mrs Okafor", old, tag_id=1),
        span("training", "NPQH", old, tag_id=2),
    ]
    adjustment = adjust_tags_for_edit(old, new, tags)

    assert adjustment.dropped == []
    moved = {tag.id: tag for tag in adjustment.kept}
    assert new[moved[1].start : moved[1].end] == "Mrs Okafor"
    assert new[moved[2].start : moved[2].end] == "NPQH"


def test_edit_inside_tag_drops_it() -> None:
    old = "Thanks to Jamie Smith, my pupil, and Mr Patel."
    new = "Thanks to J., my pupil, and Mr Patel."
    tags = [
        span("person", "Jamie Smith", old, tag_id=1),
        span("person", "Mr Patel", old, tag_id=2),
    ]
    adjustment = adjust_tags_for_edit(old, new, tags)

    assert [tag.id for tag in adjustment.dropped] == [1]
    assert [tag.id for tag in adjustment.kept] == [2]
    kept = adjustment.kept[0]
    assert new[kept.start : kept.end] == "Mr Patel"


def test_edit_drops_already_stale_tag() -> None:
    stale = TagSpan(kind="person", start=0, end=4, text="Anne", id=9)
    adjustment = adjust_tags_for_edit("Bob was great", "Bob was great!", [stale])
    assert adjustment.kept == []
    assert [tag.id for tag in adjustment.dropped] == [9]


def test_find_phrase_uses_start_hint() -> None:
    text = "NPQH then NPQH again"
    assert find_phrase(text, "NPQH") == (0, 4)
    assert find_phrase(text, "NPQH", start=10) == (10, 14)
    assert find_phrase(text, "NPQH", start=3) == (0, 4)


def test_find_phrase_missing() -> None:
    with pytest.raises(ReviewError, match="not found"):
        find_phrase("some text", "other")
    with pytest.raises(ReviewError, match="empty"):
        find_phrase("some text", "  ")


def test_training_alias_drops_hashtag() -> None:
    assert training_alias(" #NPQSL ") == "NPQSL"


def test_chart_labels_escaped() -> None:
    hostile = '<script>alert(1)</script>"'
    for svg in (
        charts.bar_chart([(hostile, 3)], "top"),
        charts.stacked_columns(["2025-03-10"], {hostile: [2]}, "weeks"),
        charts.line_chart([(hostile, 1), ("2025-03-17", 4)], "queue"),
    ):
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg
        assert svg.startswith("<svg")


def test_empty_chart_says_no_data() -> None:
    assert "No data yet." in charts.bar_chart([], "top")


def test_cursor_round_trip() -> None:
    cursor = Cursor(datetime(2025, 3, 14, 12, 30, 5, 120, tzinfo=UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("") is None
    with pytest.raises(ReviewError, match="invalid page cursor"):
        Cursor.decode("2025-03-14~x")


def test_filters_reject_bad_values() -> None:
    assert QueueFilters.from_params({}).status == "pending"
    assert QueueFilters.from_params({"status": "all"}).status == "all"
    with pytest.raises(ReviewError, match="invalid status"):
        QueueFilters.from_params({"status": "deleted"})
    with pytest.raises(ReviewError, match="YYYY-MM-DD"):
        QueueFilters.from_params({"date_from": "14/03/2025"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-13-45T00:00:00Z~1", "month must be in 1..12"),
        ("2025-02-30T00:00:00Z~1", "day is out of range"),
        ("2025-01-01T00:00:00Z~9999999999999999999", "id larger than"),
    ],
)
def test_cursor_rejects_impossible_values(text: str, message: str) -> None:
    with pytest.raises(ReviewError, match="invalid page cursor") as raised:
        Cursor.decode(text)
    assert message in str(raised.value)


def test_cursor_accepts_largest_id() -> None:
    cursor = Cursor.decode(f"2025-01-01T00:00:00Z~{2**63 - 1}")
    assert cursor is not None
    assert cursor.id == 2**63 - 1


def test_filters_reject_last_day() -> None:
    with pytest.raises(ReviewError, match="invalid to date '9999-12-31'"):
        QueueFilters.from_params({"date_to": "9999-12-31"})
    start, end = QueueFilters.from_params({"date_to": "9999-12-30"}).day_range()
    assert start is None
    assert end == datetime(9999, 12, 31, tzinfo=UTC)


def test_filters_narrowed_ignores_status() -> None:
    assert not QueueFilters.from_params({"status": "approved"}).narrowed
    assert QueueFilters.from_params({"status": "approved", "q": "maths"}).narrowed


def released_story(text: str, **values: object) -> Story:
    fields = {
        "source": "x",
        "external_id": "post-1",
        "kind": "tweet",
        "author_name": "Ada Lovelace",
        "author_handle": "ada",
        "text": text,
        "status": "approved",
        "consent": "given",
        "attribution": "first_name",
        "tags": [],
    }
    fields.update(values)
    return Story(**fields)


def test_publication_ready() -> None:
    story = released_story("Mr Patel taught me maths.")
    state = publication_state(story, [])
    assert state is not None
    assert state.state == "ready"
    assert state.message == "ready to publish"
    assert state.badge is None
    assert decide(story).action == "upsert"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to patel@school.example.org for more.", "1 email address(es)"),
        ("Call Mr Patel on 07700 900123 to hear more.", "1 phone number(s)"),
    ],
)
def test_publication_held_for_contact(text: str, expected: str) -> None:
    story = released_story(text)
    state = publication_state(story, [])
    assert state is not None
    assert state.state == "held"
    assert state.badge == "held back"
    assert state.message.startswith("held back: text contains " + expected)
    assert list(state.reasons) == decide(story).reasons


def test_publication_held_for_pupil_name() -> None:
    pupil = TagRow(kind="person", text="Tom", name="Tom Jones", start=0, end=3, pupil=True)
    story = released_story("Tom helped me in year 9.", tags=[pupil])
    state = publication_state(story, ["Tom", "Tom Jones"])
    assert state is not None
    assert state.state == "held"
    assert "tagged as a pupil" in state.message
    assert decide(story).action == "hold"


@pytest.mark.parametrize("consent", ["unknown", "declined", "withdrawn"])
def test_publication_waits_for_consent(consent: str) -> None:
    # The email address does not matter while consent is missing, as in decide.
    story = released_story("Write to patel@school.example.org.", consent=consent)
    state = publication_state(story, [])
    assert state is not None
    assert state.state == "no_consent"
    assert state.badge == "no consent"
    assert state.message == (
        f"will not be published until consent is given (consent is {consent})"
    )
    assert decide(story).action == "skip"


def test_publication_only_for_released_stories() -> None:
    assert publication_state(released_story("Text.", status="pending"), []) is None
    gone = released_story("Text.", gone_at_source=datetime(2025, 3, 1, tzinfo=UTC))
    state = publication_state(gone, [])
    assert state is not None
    assert state.state == "gone"
    assert decide(gone).action == "skip"
