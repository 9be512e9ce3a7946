"""Link training tags to ``training`` rows, and record curators' new aliases."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvester.errors import UsageError
from harvester.tagging.gazetteer import normalize_alias
from store.models import Story as StoryRow
from store.models import Training, TrainingAlias

log = logging.getLogger(__name__)


def _training_named(session: Session, name: str, kind: str = "course") -> Training:
    row = session.scalar(select(Training).where(Training.name == name))
    if row is None:
        row = Training(name=name, kind=kind)
        session.add(row)
        session.flush()
    return row


def link_training(session: Session, stories: StoryRow | Iterable[StoryRow]) -> int:
    """Set ``training_id`` of each training tag from its canonical name; return the count.

    A training row is created the first time a canonical name is tagged. The names
    are looked up together, so a batch of stories costs one query.
    """
    stories = [stories] if isinstance(stories, StoryRow) else stories
    tags = [
        tag
        for story in stories
        for tag in story.tags
        if tag.kind == "training" and tag.training_id is None and tag.name
    ]
    if not tags:
        return 0
    names = sorted({tag.name for tag in tags})
    ids = dict(session.execute(select(Training.name, Training.id).where(Training.name.in_(names))).all())
    created = [Training(name=name, kind="course") for name in names if name not in ids]
    if created:
        session.add_all(created)
        session.flush()
        ids.update((row.name, row.id) for row in created)
    for tag in tags:
        tag.training_id = ids[tag.name]
    return len(tags)


def add_training_alias(
    session: Session, name: str, alias: str, added_by: str = "curator"
) -> TrainingAlias:
    """Record ``alias`` as another way to write training ``name``; the next tagger load matches it."""
    normalized = normalize_alias(alias)
    if not normalized:
        raise UsageError("a training alias cannot be empty")
    existing = session.scalar(
        select(TrainingAlias).where(TrainingAlias.alias == normalized)
    )
    if existing is not None:
        if existing.training.name != name:
            raise UsageError(
                f"alias {alias!r} already belongs to training {existing.training.name!r}"
            )
        return existing
    row = TrainingAlias(
        training=_training_named(session, name), alias=normalized, added_by=added_by
    )
    session.add(row)
    session.flush()
    log.info("added training alias %r to %r (by %s)", normalized, name, added_by)
    return row
