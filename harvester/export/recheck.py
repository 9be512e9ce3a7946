"""``harvester recheck``: ask the X API whether released posts still exist.

A post the X API reports deleted, protected or suspended is marked
``gone_at_source``; the next export emits a deletion and ``publish`` sends DELETE.
Posts are looked up 100 at a time, least recently checked first, and the run stops
at ``max_requests`` lookups or at the first HTTP 429, so later runs continue where
it stopped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import or_, select

from harvester.app import App
from harvester.config import TwitterSource
from harvester.errors import ConfigError, RateLimited
from harvester.export.items import update_quietly
from sources.twitter import LOOKUP_BATCH, lookup_posts
from store.models import Story

log = logging.getLogger(__name__)

# Lookup statuses that take a story off the site. ``unavailable`` and ``not_found``
# (an id missing from the response) are left alone, because they may be passing faults.
GONE_STATUSES = {"deleted", "protected", "suspended"}
DEFAULT_MAX_REQUESTS = 15


@dataclass
class RecheckSummary:
    checked: int = 0
    gone: list[int] = field(default_factory=list)
    requests: int = 0
    rate_limited_until: datetime | None = None


def _settings_for(app: App, source: str) -> TwitterSource:
    """Return the settings of the source the post came from, else the first X source."""
    configured = app.config.sources.get(source)
    if isinstance(configured, TwitterSource):
        return configured
    for settings in app.config.sources.values():
        if isinstance(settings, TwitterSource):
            return settings
    raise ConfigError(
        "no twitter source in config: recheck needs one for its bearer_token_env"
    )


def _next_batch(app: App, exclude: set[int]) -> list[tuple[int, str, str]]:
    """Return (id, source, post id) of the next posts to check, least recently checked first."""
    with app.db.read() as session:
        query = (
            select(Story.id, Story.source, Story.external_id)
            .where(
                Story.kind == "tweet",
                Story.gone_at_source.is_(None),
                or_(Story.status == "published", Story.released_at.is_not(None)),
            )
            .order_by(Story.checked_at.is_not(None), Story.checked_at, Story.id)
        )
        if exclude:
            query = query.where(Story.id.not_in(exclude))
        return [tuple(row) for row in session.execute(query.limit(LOOKUP_BATCH))]  # type: ignore[misc]


def recheck_posts(
    app: App, *, max_requests: int = DEFAULT_MAX_REQUESTS
) -> RecheckSummary:
    """Look up released posts on X and mark the ones that are gone."""
    summary = RecheckSummary()
    seen: set[int] = set()
    while summary.requests < max_requests:
        stories = _next_batch(app, seen)
        if not stories:
            break
        by_source: dict[str, dict[int, str]] = defaultdict(dict)
        for story_id, source, post_id in stories:
            seen.add(story_id)
            by_source[source][story_id] = post_id

        for source, group in by_source.items():
            settings = _settings_for(app, source)
            try:
                statuses = lookup_posts(settings, list(group.values()), source=source)
            except RateLimited as error:
                summary.rate_limited_until = error.reset_at
                log.warning("recheck stopped: %s", error)
                return summary
            summary.requests += 1
            _store_statuses(app, group, statuses, summary)
    log.info(
        "recheck finished: %d posts checked in %d requests, %d gone",
        summary.checked,
        summary.requests,
        len(summary.gone),
    )
    return summary


def _store_statuses(
    app: App, group: dict[int, str], statuses: dict[str, str], summary: RecheckSummary
) -> None:
    now = datetime.now(timezone.utc)
    still_there: list[int] = []
    with app.db.write() as session:
        for story_id in group:
            story = session.get(Story, story_id)
            if story is None:
                continue
            status = statuses.get(story.external_id, "not_found")
            summary.checked += 1
            if status in GONE_STATUSES:
                story.gone_at_source = now
                story.checked_at = now
                summary.gone.append(story.id)
                log.info(
                    "story %s: post %s is %s at the source",
                    story.id,
                    story.external_id,
                    status,
                )
            else:
                still_there.append(story.id)
        # Setting gone_at_source is a change of the story; a check that found it is not.
        update_quietly(session, still_there, checked_at=now)
