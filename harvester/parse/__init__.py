"""Turn raw items into stories. Each parser is pure: bytes in, ``Story`` out."""

from __future__ import annotations

from harvester.errors import ItemError
from harvester.records import RawItem, Story


def parse_item(raw: RawItem) -> Story:
    """Parse ``raw`` with the parser for its kind; raise ``ItemError`` if it cannot be read."""
    if raw.kind == "email":
        from harvester.parse.mail import parse_message

        return parse_message(raw)
    if raw.kind == "tweet":
        from harvester.parse.post import parse_post

        return parse_post(raw)
    raise ItemError(
        raw.origin or raw.external_id,
        f"unknown item kind {raw.kind!r}: expected email or tweet",
    )
