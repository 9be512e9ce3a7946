"""The values that flow through a harvest: raw items, stories, classifications, tags.

Sources produce ``RawItem`` values in ``Batch`` groups. ``harvester.parse`` turns a
raw item into a ``Story``; ``harvester.classify`` decides what it is; the tagger adds
``Tag`` values; ``store.queries`` persists the lot. None of these types touch I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ItemKind = Literal["tweet", "email"]
ClassKind = Literal["story", "automated", "retweet", "duplicate", "unreadable", "oversize"]
TagKind = Literal["person", "training"]
TagMethod = Literal["ner", "mention", "gazetteer", "curator"]


@dataclass(frozen=True)
class RawItem:
    """One item as a source received it, kept so it can be parsed again later."""

    source: str
    kind: ItemKind
    external_id: str
    payload: bytes
    fetched_at: datetime
    origin: str = ""
    received_at: datetime | None = None
    size: int | None = None
    attachments_dropped: bool = False


@dataclass(frozen=True)
class Problem:
    """An item a source could not read or would not fetch whole: it goes to quarantine.

    ``verdict`` is the quarantine kind ("unreadable" for a truncated JSON line,
    "oversize" for mail over the size limit). Without ``external_id``, the item is
    keyed by a hash of its origin and payload.
    """

    source: str
    origin: str
    reason: str
    payload: bytes = b""
    kind: ItemKind = "tweet"
    verdict: ClassKind = "unreadable"
    external_id: str | None = None


@dataclass
class Batch:
    """Raw items fetched together, and the checkpoint to save once they are stored."""

    items: list[RawItem]
    checkpoint: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Story:
    """A story normalized from a raw item: author, text, date and references."""

    source: str
    external_id: str
    kind: ItemKind
    text: str
    created_at: datetime
    author_name: str | None = None
    author_handle: str | None = None
    author_email: str | None = None
    subject: str | None = None
    html: str | None = None
    url: str | None = None
    language: str | None = None
    conversation_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    retweet_of: str | None = None
    quoted: str | None = None
    mentions: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    auto_headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


@dataclass(frozen=True)
class Classification:
    """The kind of a parsed item, and the reason shown to curators."""

    kind: ClassKind
    reason: str

    @property
    def is_story(self) -> bool:
        return self.kind == "story"


@dataclass(frozen=True)
class Tag:
    """A person or training course found in a story text, with character offsets."""

    kind: TagKind
    text: str
    start: int
    end: int
    method: TagMethod
    name: str | None = None
