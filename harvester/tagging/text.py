"""Tweet-aware text normalization that keeps a map back to the original offsets.

The spaCy models are trained on edited text, so a post is rewritten before NER.
URLs and the ``RT @user:`` prefix are removed. Hashtag signs are dropped, and
CamelCase hashtags are split into words (``#EarlyCareerFramework``). Emoji glued
to a word are separated from it. Every character of the rewritten text records
the index of the original character it came from, so a span found in the
rewritten text maps back to exact offsets in the story text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Only the "RT " of a retweet prefix is removed: the handle after it stays, because
# it names the retweeted author, a person in most posts.
RETWEET_PREFIX = re.compile(r"^\s*RT (?=@\w{1,15}\s*:)")
HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b")
# Pictographs, dingbats, symbols, flags, the emoji variation selector and the zero-width
# joiner: the ranges cover the emoji of Unicode 15.
EMOJI = "\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\U0001f000-\U0001faff"
EMOJI_NEXT_TO_WORD = re.compile(rf"(?<=\w)(?=[{EMOJI}])|(?<=[{EMOJI}])(?=\w)")
CAMEL_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)"
)


@dataclass(frozen=True)
class Normalized:
    """A rewritten text and, for each of its characters, the index in the original."""

    text: str
    origin: tuple[int, ...]
    original_length: int

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the span ``[start, end)`` of the rewritten text to the original text."""
        if start >= end:
            raise ValueError(f"empty span {start}:{end}")
        return self.origin[start], self.origin[end - 1] + 1


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.origin: list[int] = []

    def copy(self, text: str, start: int, end: int) -> None:
        self.parts.append(text[start:end])
        self.origin.extend(range(start, end))

    def insert(self, text: str, at: int) -> None:
        # Inserted characters point at the original character that follows them.
        self.parts.append(text)
        self.origin.extend([at] * len(text))


def identity(text: str) -> Normalized:
    return Normalized(text, tuple(range(len(text))), len(text))


def split_camel_case(word: str) -> str:
    """Split ``EarlyCareerFramework`` into ``Early Career Framework``; keep other words."""
    if word.islower() or word.isupper():
        return word
    return CAMEL_BOUNDARY.sub(" ", word)


def normalize(text: str) -> Normalized:
    """Rewrite a post or mail for NER; see the module docstring for the steps."""
    builder = _Builder()
    position = 0
    prefix = RETWEET_PREFIX.match(text)
    if prefix:
        position = prefix.end()

    # One pass over the removable or rewritable pieces, in order of position.
    pieces = sorted(
        [(m.start(), m.end(), "url") for m in URL.finditer(text, position)]
        + [(m.start(), m.end(), "hashtag") for m in HASHTAG.finditer(text, position)]
    )
    for start, end, kind in pieces:
        if start < position:
            continue
        _copy_splitting_emoji(builder, text, position, start)
        if kind == "hashtag":
            _copy_hashtag(builder, text, start + 1, end)
        position = end
    _copy_splitting_emoji(builder, text, position, len(text))
    return Normalized("".join(builder.parts), tuple(builder.origin), len(text))


def _copy_hashtag(builder: _Builder, text: str, start: int, end: int) -> None:
    body = text[start:end]
    cursor = 0
    for boundary in CAMEL_BOUNDARY.finditer(body):
        builder.copy(text, start + cursor, start + boundary.start())
        builder.insert(" ", start + boundary.start())
        cursor = boundary.start()
    builder.copy(text, start + cursor, end)


def _copy_splitting_emoji(builder: _Builder, text: str, start: int, end: int) -> None:
    cursor = start
    for boundary in EMOJI_NEXT_TO_WORD.finditer(text, start, end):
        if boundary.start() == start:
            continue
        builder.copy(text, cursor, boundary.start())
        builder.insert(" ", boundary.start())
        cursor = boundary.start()
    builder.copy(text, cursor, end)


def mentions_in(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, handle)`` of each @handle; the span includes the @ sign."""
    return [(m.start(), m.end(), m.group(1)) for m in MENTION.finditer(text)]


def hashtags_in(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, body)`` of each hashtag; the span excludes the # sign."""
    return [(m.start(1), m.end(1), m.group(1)) for m in HASHTAG.finditer(text)]


def recase(text: str, keep: frozenset[str]) -> str:
    """Capitalize each lowercase or ALL-CAPS word not in ``keep``; the length is unchanged."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.lower() in keep or len(word) < 2:
            return word.lower() if word.isupper() else word
        return word[0].upper() + word[1:].lower()

    return re.sub(r"[^\W\d_]+(?:'[^\W\d_]+)?", fix, text)
