"""The public item of a story, shared by every feed format and by publishing.

Also the rule for what happens to a story at export time: it goes out, it is held
back by the privacy guard, it is taken back with a deletion, or it is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, selectinload

from harvester.export.consent import attribution_name
from harvester.export.privacy import privacy_reasons
from store.models import AuditEvent, Story

# Namespace of the UUIDv5 story ids. Changing it changes every public id.
STORY_NAMESPACE = uuid.UUID("6f1c3b52-8a4e-5d0b-9c57-2e6a1f0d4b83")
RELEASED_STATUSES = ("approved", "published")
TITLE_LENGTH = 80
ERASURE_ACTION = "erasure"
UPDATE_CHUNK = 500

Action = Literal["upsert", "delete", "hold", "skip"]


def story_key(source: str, external_id: str) -> str:
    """Return the public id of a story, a ``urn:uuid:`` URN stable across exports.

    It is a name-based UUID rather than the external id because a mail's external id
    is its Message-ID, which often contains the sender's domain or address.
    """
    return "urn:uuid:" + str(uuid.uuid5(STORY_NAMESPACE, f"{source}\n{external_id}"))


@dataclass(frozen=True)
class ExportItem:
    """A story as the community site receives it: no address, no raw mail."""

    id: str
    version: int
    title: str
    text: str
    author: str
    date_published: datetime
    date_modified: datetime
    url: str | None
    people: list[str] = field(default_factory=list)
    training: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": "upsert",
            "version": self.version,
            "title": self.title,
            "content_text": self.text,
            "author": self.author,
            "date_published": rfc3339(self.date_published),
            "date_modified": rfc3339(self.date_modified),
            "url": self.url,
            "people": self.people,
            "training": self.training,
        }


@dataclass(frozen=True)
class Tombstone:
    """A deletion: the id of a story that must be taken off the site, and since when."""

    id: str
    when: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "action": "delete", "when": rfc3339(self.when)}


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: list[str] = field(default_factory=list)


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def is_publishable(story: Story) -> bool:
    """Return whether curators approved the story and its author consented to publishing it."""
    return (
        story.status in RELEASED_STATUSES
        and story.consent == "given"
        and story.gone_at_source is None
    )


def pupil_names(story: Story) -> list[str]:
    names = set()
    for tag in story.tags:
        if tag.pupil:
            names.update(value for value in (tag.text, tag.name) if value)
    return sorted(names)


def hold_reasons(story: Story, pupils: Iterable[str]) -> list[str]:
    """Return why the privacy guard holds back the story's public title, text and author.

    ``pupils`` are the names tagged as pupils in the story, as ``pupil_names`` returns them.
    """
    # The shown author name is checked too: a sender may put a number in it.
    author = attribution_name(
        story.attribution,
        author_name=story.author_name,
        author_handle=story.author_handle,
    )
    # Without a subject the title is cut from the text's first line, so checking it as
    # well would count every address or number in that line twice.
    title = story_title(story) if story.subject and story.subject.strip() else ""
    return privacy_reasons(f"{title}\n{story.text}\n{author}", pupils)


def decide(story: Story) -> Decision:
    """Decide what an export does with ``story``; ``story.tags`` must be loaded."""
    if is_publishable(story):
        reasons = hold_reasons(story, pupil_names(story))
        if reasons:
            return Decision("hold", reasons)
        return Decision("upsert")
    if story.released_at is not None:
        return Decision("delete")
    return Decision("skip")


def story_title(story: Story) -> str:
    """Return the mail subject, or the first line of a post cut at a word boundary."""
    if story.subject and story.subject.strip():
        return story.subject.strip()
    first_line = next(
        (line.strip() for line in story.text.splitlines() if line.strip()), ""
    )
    if len(first_line) <= TITLE_LENGTH:
        return first_line or "Untitled story"
    cut = first_line[:TITLE_LENGTH].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


def source_url(story: Story) -> str | None:
    """Return the link to the original post. Mail has no public page, so it gets none."""
    if story.kind != "tweet":
        return None
    if story.url and story.url.startswith("https://"):
        return story.url
    return f"https://x.com/i/web/status/{story.external_id}"


def story_item(story: Story) -> ExportItem:
    """Build the public item of ``story``. Tags curators marked as pupils are left out."""
    people = sorted(
        {
            tag.name or tag.text
            for tag in story.tags
            if tag.kind == "person" and not tag.pupil
        }
    )
    training = sorted(
        {tag.name or tag.text for tag in story.tags if tag.kind == "training"}
    )
    author = attribution_name(
        story.attribution,
        author_name=story.author_name,
        author_handle=story.author_handle,
    )
    return ExportItem(
        id=story_key(story.source, story.external_id),
        version=story.version,
        title=story_title(story),
        text=story.text,
        author=author,
        date_published=story.created_at,
        date_modified=story.updated_at,
        url=source_url(story),
        people=people,
        training=training,
    )


def tombstone(story: Story) -> Tombstone:
    return Tombstone(story_key(story.source, story.external_id), story.updated_at)


def candidates(since: datetime | None = None) -> Select[tuple[Story]]:
    """Select the stories an export looks at: released ones, and ones that may be released.

    NOTE: ``since`` compares with ``stories.updated_at``, which moves only when the
    story row changes. The review page bumps ``version`` on tag edits, but a tag
    written by other code without touching the row waits for a full export.
    """
    query = (
        select(Story)
        .where(or_(Story.status.in_(RELEASED_STATUSES), Story.released_at.is_not(None)))
        .options(selectinload(Story.tags))
        .order_by(Story.id)
    )
    if since is not None:
        query = query.where(Story.updated_at > since)
    return query


def stream_stories(
    session: Session, since: datetime | None = None, batch_size: int = 500
) -> Iterator[Story]:
    """Yield candidate stories in id order, ``batch_size`` rows at a time.

    The rows come through a server-side cursor on PostgreSQL, so memory stays flat.
    """
    query = candidates(since).execution_options(yield_per=batch_size)
    for story in session.scalars(query):
        yield story


def erased_keys(session: Session, since: datetime | None = None) -> Iterator[Tombstone]:
    """Yield deletions for stories removed by ``harvester forget``, which left only their ids."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.action == ERASURE_ACTION)
        .order_by(AuditEvent.id)
    )
    if since is not None:
        query = query.where(AuditEvent.created_at > since)
    for event in session.scalars(query):
        for key in (event.after or {}).get("story_keys", []):
            yield Tombstone(key, event.created_at)


def update_quietly(
    session: Session, story_ids: list[int], *conditions: Any, **values: Any
) -> None:
    """Update story columns without touching ``updated_at``.

    ``updated_at`` is the item's ``date_modified`` and the ``--since`` clock, so
    bookkeeping such as ``released_at`` or ``checked_at`` must not move it.
    """
    for start in range(0, len(story_ids), UPDATE_CHUNK):
        chunk = story_ids[start : start + UPDATE_CHUNK]
        session.execute(
            update(Story)
            .where(Story.id.in_(chunk), *conditions)
            .values(updated_at=Story.updated_at, **values)
            .execution_options(synchronize_session=False)
        )


def mark_released(session: Session, story_ids: list[int], when: datetime) -> None:
    update_quietly(session, story_ids, Story.released_at.is_(None), released_at=when)
