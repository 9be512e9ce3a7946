"""The functions that read and write stories, tags, checkpoints and runs.

Writers take an open session inside ``Database.write()``; they never commit, so a
batch of rows and its checkpoint land in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Checkpoint, HarvestRun, RawItemRow, Story, TagRow, utcnow

_URL = re.compile(r"https?://\S+")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
MIN_HASHED_CHARS = 40


def content_hash(text: str) -> str | None:
    """Return a hash of a story's words, ignoring case, links and punctuation.

    Texts shorter than ``MIN_HASHED_CHARS`` after cleaning get no hash, so short
    replies such as "Thank you!" are never called duplicates of each other.
    """
    words = _NON_WORD.sub(" ", _URL.sub(" ", text.lower())).split()
    cleaned = " ".join(word for word in words if word not in ("rt", "connected"))
    if len(cleaned) < MIN_HASHED_CHARS:
        return None
    return hashlib.sha256(cleaned.encode("utf-8")).hexdigest()


def insert_ignoring_conflicts(session: Session, model: type, rows: Sequence[dict[str, Any]], returning: Sequence[Any] = ()) -> list[Any]:
    """Insert rows with ON CONFLICT DO NOTHING on SQLite and PostgreSQL; return the inserted rows."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).on_conflict_do_nothing()
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []


def existing_external_ids(session: Session, source: str, external_ids: Iterable[str]) -> set[str]:
    """Return which of ``external_ids`` the store already holds for ``source``."""
    unique_ids = list(set(external_ids))
    found: set[str] = set()
    for start in range(0, len(unique_ids), 500):
        chunk = unique_ids[start : start + 500]
        found.update(
            session.scalars(
                select(RawItemRow.external_id).where(RawItemRow.source == source, RawItemRow.external_id.in_(chunk))
            )
        )
    return found


def stories_by_hash(session: Session, hashes: Iterable[str]) -> dict[str, int]:
    """Map each content hash already stored to the id of the first story that has it."""
    unique_hashes = [value for value in set(hashes) if value]
    if not unique_hashes:
        return {}
    rows = session.execute(
        select(Story.content_hash, func.min(Story.id)).where(Story.content_hash.in_(unique_hashes)).group_by(Story.content_hash)
    )
    return {value: story_id for value, story_id in rows}


def load_checkpoint(session: Session, source: str) -> dict[str, Any] | None:
    row = session.get(Checkpoint, source)
    return dict(row.state) if row is not None else None


def save_checkpoint(session: Session, source: str, state: dict[str, Any]) -> None:
    row = session.get(Checkpoint, source)
    if row is None:
        session.add(Checkpoint(source=source, state=state))
    else:
        row.state = state
        row.updated_at = utcnow()


def start_run(session: Session, source: str, trigger: str = "manual") -> HarvestRun:
    run = HarvestRun(source=source, trigger=trigger, started_at=utcnow(), status="running")
    session.add(run)
    session.flush()
    return run


def story_author(story: Story) -> str | None:
    if story.author_name and story.author_handle:
        return f"{story.author_name} (@{story.author_handle})"
    if story.author_name and story.author_email:
        return f"{story.author_name} <{story.author_email}>"
    return story.author_name or (f"@{story.author_handle}" if story.author_handle else story.author_email)


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def tag_to_dict(tag: TagRow) -> dict[str, Any]:
    return {"kind": tag.kind, "text": tag.text, "name": tag.name, "start": tag.start, "end": tag.end, "method": tag.method}


def story_to_dict(story: Story) -> dict[str, Any]:
    """Return the JSON form of a story used by ``harvester stories list --json``."""
    return {
        "id": story.id,
        "source": story.source,
        "external_id": story.external_id,
        "kind": story.kind,
        "status": story.status,
        "classification": story.classification,
        "author": story_author(story),
        "author_name": story.author_name,
        "author_handle": story.author_handle,
        "subject": story.subject,
        "text": story.text,
        "url": story.url,
        "language": story.language,
        "created_at": iso_utc(story.created_at),
        "harvested_at": iso_utc(story.harvested_at),
        "consent": story.consent,
        "references": story.references,
        "tags": [tag_to_dict(tag) for tag in sorted(story.tags, key=lambda tag: (tag.start, tag.end))],
    }
