"""Tag stored stories again, optionally after parsing their raw items again."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select

from harvester.app import App
from harvester.errors import ItemError
from harvester.parse import parse_item
from harvester.pipeline import link_entities
from harvester.records import RawItem
from harvester.records import Story as StoryValue
from store.models import AuditEvent, RawItemRow, Story, TagRow

log = logging.getLogger(__name__)


def _raw_value(row: RawItemRow) -> RawItem:
    return RawItem(
        source=row.source, kind=row.kind, external_id=row.external_id, payload=row.payload,  # type: ignore[arg-type]
        fetched_at=row.fetched_at, origin=row.origin, received_at=row.received_at, size=row.size,
        attachments_dropped=row.attachments_dropped,
    )


def _story_value(row: Story) -> StoryValue:
    return StoryValue(
        source=row.source, external_id=row.external_id, kind=row.kind, text=row.text,  # type: ignore[arg-type]
        created_at=row.created_at, author_name=row.author_name, author_handle=row.author_handle,
        author_email=row.author_email, subject=row.subject, language=row.language,
    )


def _removed_by_curators(session: Any, story_ids: list[int]) -> set[tuple[int, str, int, int]]:
    """Return the spans curators removed, so tagging again does not bring them back."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.story_id.in_(story_ids), AuditEvent.action == "remove_tag")
    )
    removed = set()
    for event in events:
        before = event.before or {}
        if {"kind", "start", "end"} <= set(before):
            removed.add((event.story_id, before["kind"], before["start"], before["end"]))
    return removed


def retag(app: App, *, source: str | None = None, reparse: bool = False, batch_size: int = 500) -> dict[str, int]:
    """Replace the automatic tags of every story (curator tags stay); return counts."""
    counts = {"stories": 0, "tags": 0, "reparsed": 0}
    last_id = 0
    while True:
        with app.db.read() as session:
            query = select(Story.id).where(Story.id > last_id).order_by(Story.id).limit(batch_size)
            if source:
                query = query.where(Story.source == source)
            ids = list(session.scalars(query))
        if not ids:
            return counts
        last_id = ids[-1]
        _retag_ids(app, ids, reparse, counts)


def _retag_ids(app: App, ids: list[int], reparse: bool, counts: dict[str, int]) -> None:
    with app.db.read() as session:
        rows = list(session.scalars(select(Story).where(Story.id.in_(ids)).order_by(Story.id)))
        values: list[StoryValue] = []
        updates: dict[int, dict[str, Any]] = {}
        for row in rows:
            value = _story_value(row)
            if reparse and row.raw_item_id and row.original_text is None:
                raw = session.get(RawItemRow, row.raw_item_id)
                if raw is not None:
                    try:
                        value = parse_item(_raw_value(raw))
                    except ItemError as error:
                        log.warning("story %s: raw item could not be parsed again: %s", row.id, error)
                    else:
                        updates[row.id] = {"text": value.text, "author_name": value.author_name, "subject": value.subject}
            values.append(value)
    tag_lists = app.tagger.tag(values)

    with app.db.write() as session:
        removed = _removed_by_curators(session, [row.id for row in rows])
        stories = []
        for row_id, value, tags in zip([row.id for row in rows], values, tag_lists):
            story = session.get(Story, row_id)
            if story is None:
                continue
            if row_id in updates and updates[row_id]["text"] != story.text:
                counts["reparsed"] += 1
                for key, new_value in updates[row_id].items():
                    setattr(story, key, new_value)
            session.execute(delete(TagRow).where(TagRow.story_id == row_id, TagRow.method != "curator"))
            for tag in tags:
                if (row_id, tag.kind, tag.start, tag.end) in removed:
                    continue
                session.add(
                    TagRow(story_id=row_id, kind=tag.kind, text=tag.text, name=tag.name, start=tag.start, end=tag.end, method=tag.method)
                )
                counts["tags"] += 1
            counts["stories"] += 1
            stories.append(story)
        session.flush()
        for story in stories:
            session.refresh(story)
        link_entities(session, stories)
