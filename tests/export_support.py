"""Helpers for the export tests: stories inserted straight through ``store.models``."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from store.db import Database
from store.models import Story, TagRow

_numbers = itertools.count(1000)
CREATED = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def add_story(
    db: Database, *, tags: list[dict[str, Any]] | None = None, **fields: Any
) -> int:
    """Insert a story, approved with consent given unless ``fields`` override them."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "source": "x",
        "external_id": str(1_700_000_000_000_000_000 + number),
        "kind": "tweet",
        "author_name": "Priya Shah",
        "author_handle": "priya_teaches",
        "text": f"Mr Okafor taught me to love chemistry at Hillside. Story {number}.",
        "created_at": CREATED,
        "status": "approved",
        "consent": "given",
        "attribution": "full_name",
    }
    values.update(fields)
    with db.write() as session:
        story = Story(**values)
        for tag in tags or []:
            story.tags.append(
                TagRow(**{"start": 0, "end": 1, "method": "curator", **tag})
            )
        session.add(story)
        session.flush()
        return story.id


def update_story(db: Database, story_id: int, **fields: Any) -> None:
    """Change a story through the ORM, as a curator's edit does, so ``updated_at`` moves."""
    with db.write() as session:
        story = session.get(Story, story_id)
        assert story is not None
        for name, value in fields.items():
            setattr(story, name, value)
        story.version += 1
