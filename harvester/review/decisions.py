"""Pure rules behind curator decisions: status transitions, text edits, tag spans.

Nothing here touches the database, so the web page, the CLI and the export code
can share the same rules and test them with plain values.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from harvester.errors import HarvesterError

# "duplicate" is set by the pipeline for a story with the same text as an earlier one.
STATUSES = (
    "pending",
    "approved",
    "rejected",
    "needs_consent",
    "published",
    "duplicate",
)
CONSENT_VALUES = ("unknown", "given", "declined", "withdrawn")
ATTRIBUTIONS = ("full_name", "first_name", "handle", "anonymous")
TAG_KINDS = ("person", "training")

# Decision name -> the status it sets.
DECISIONS = {
    "approve": "approved",
    "reject": "rejected",
    "needs_consent": "needs_consent",
    "reopen": "pending",
}

# Decision name -> the statuses it may start from. A published story can be rejected
# or sent back for consent; the export code then removes it from the community site.
_ALLOWED_FROM = {
    "approve": frozenset({"pending", "rejected", "needs_consent"}),
    "reject": frozenset(
        {"pending", "approved", "needs_consent", "published", "duplicate"}
    ),
    "needs_consent": frozenset({"pending", "approved", "rejected", "published"}),
    "reopen": frozenset({"approved", "rejected", "needs_consent", "duplicate"}),
}

MAX_REASON_LENGTH = 2000
# The range of row ids that SQLite INTEGER and PostgreSQL BIGINT columns can store.
MIN_ROW_ID = -(2**63)
MAX_ROW_ID = 2**63 - 1


class ReviewError(HarvesterError):
    """A curator action that cannot be applied; the message gives the reason and the next step."""


class ConflictError(ReviewError):
    """The story changed after the curator opened it."""


class NotFoundError(ReviewError):
    """A story, tag or quarantined item does not exist (any more)."""


@dataclass(frozen=True)
class TagSpan:
    """A tag's offsets into a story text, with the text it covered when it was made."""

    kind: str
    start: int
    end: int
    text: str
    name: str | None = None
    id: int | None = None
    pupil: bool = False
    method: str = "curator"


@dataclass(frozen=True)
class Segment:
    """A run of story text starting at offset ``start``, highlighted when ``tag`` is set."""

    text: str
    start: int
    tag: TagSpan | None = None


@dataclass(frozen=True)
class TagAdjustment:
    """Tags after a text edit: those moved to new offsets, and those the edit broke."""

    kept: list[TagSpan]
    dropped: list[TagSpan]


def fits_row_id(value: int) -> bool:
    """Return whether ``value`` fits an id column, so a query with it cannot overflow."""
    return MIN_ROW_ID <= value <= MAX_ROW_ID


def next_status(current: str, decision: str, reason: str | None = None) -> str:
    """Return the status that ``decision`` sets, or raise ReviewError if it cannot apply."""
    if decision not in DECISIONS:
        known = ", ".join(DECISIONS)
        raise ReviewError(f"unknown decision {decision!r}: use one of {known}")
    if current not in _ALLOWED_FROM[decision]:
        allowed = ", ".join(sorted(_ALLOWED_FROM[decision]))
        raise ReviewError(
            f"cannot {decision.replace('_', ' ')} a story that is {current}: "
            f"only stories that are {allowed} can be"
        )
    if decision == "reject" and not (reason and reason.strip()):
        raise ReviewError("a rejection needs a reason: type one and try again")
    if reason and len(reason) > MAX_REASON_LENGTH:
        raise ReviewError(
            f"the reason is longer than {MAX_REASON_LENGTH} characters: shorten it"
        )
    return DECISIONS[decision]


def validate_consent(consent: str, attribution: str) -> None:
    """Raise ReviewError unless both values are known."""
    if consent not in CONSENT_VALUES:
        raise ReviewError(
            f"invalid consent {consent!r}: use one of {', '.join(CONSENT_VALUES)}"
        )
    if attribution not in ATTRIBUTIONS:
        raise ReviewError(
            f"invalid attribution {attribution!r}: use one of {', '.join(ATTRIBUTIONS)}"
        )


def validate_tag_kind(kind: str) -> None:
    if kind not in TAG_KINDS:
        raise ReviewError(f"invalid tag kind {kind!r}: use person or training")


def tag_matches(text: str, tag: TagSpan) -> bool:
    """Return whether the tag's offsets still cover the tag's text."""
    return (
        0 <= tag.start < tag.end <= len(text) and text[tag.start : tag.end] == tag.text
    )


def highlight_segments(text: str, tags: list[TagSpan]) -> list[Segment]:
    """Split ``text`` into plain and tagged segments for escaping and rendering.

    Tags whose offsets no longer cover their text are left out, and so is any tag
    that overlaps an earlier one (ordered by start, longer first).
    """
    ordered = sorted(
        (tag for tag in tags if tag_matches(text, tag)),
        key=lambda tag: (tag.start, -(tag.end - tag.start)),
    )
    segments: list[Segment] = []
    position = 0
    for tag in ordered:
        if tag.start < position:
            continue
        if tag.start > position:
            segments.append(Segment(text[position : tag.start], position))
        segments.append(Segment(text[tag.start : tag.end], tag.start, tag))
        position = tag.end
    if position < len(text):
        segments.append(Segment(text[position:], position))
    return segments


def adjust_tags_for_edit(
    old_text: str, new_text: str, tags: list[TagSpan]
) -> TagAdjustment:
    """Move tags to their offsets in ``new_text``; drop those the edit touched.

    A tag is kept only when its whole span lies in a part of the text that the edit
    left unchanged. A tag whose old offsets were already stale is dropped too.
    """
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    unchanged = [
        (old_start, old_end, new_start)
        for operation, old_start, old_end, new_start, _ in matcher.get_opcodes()
        if operation == "equal"
    ]
    kept: list[TagSpan] = []
    dropped: list[TagSpan] = []
    for tag in tags:
        if not tag_matches(old_text, tag):
            dropped.append(tag)
            continue
        moved = _move_span(tag, unchanged)
        if moved is None or not tag_matches(new_text, moved):
            dropped.append(tag)
        else:
            kept.append(moved)
    return TagAdjustment(kept=kept, dropped=dropped)


def _move_span(tag: TagSpan, unchanged: list[tuple[int, int, int]]) -> TagSpan | None:
    for old_start, old_end, new_start in unchanged:
        if old_start <= tag.start and tag.end <= old_end:
            shift = new_start - old_start
            return replace(tag, start=tag.start + shift, end=tag.end + shift)
    return None


def find_phrase(text: str, phrase: str, start: int | None = None) -> tuple[int, int]:
    """Return the offsets of ``phrase`` in ``text``, at ``start`` when it matches there.

    Without a matching ``start`` the first occurrence is used. Raises ReviewError when
    the phrase is empty or absent.
    """
    if not phrase or not phrase.strip():
        raise ReviewError(
            "the phrase to tag is empty: select or type words from the story"
        )
    if start is not None and text[start : start + len(phrase)] == phrase:
        return start, start + len(phrase)
    found = text.find(phrase)
    if found < 0:
        raise ReviewError(
            f"{phrase!r} not found in the story text: copy the words exactly as they appear"
        )
    return found, found + len(phrase)


def training_alias(tag_text: str) -> str:
    """Return the gazetteer alias for a tagged phrase: trimmed, without a hashtag sign."""
    return tag_text.strip().lstrip("#").strip()


def validate_story_text(new_text: str) -> str:
    """Return the edited text with Windows line ends normalized, or raise ReviewError."""
    normalized = new_text.replace("\r\n", "\n")
    if not normalized.strip():
        raise ReviewError("the story text cannot be empty: reject the story instead")
    return normalized
