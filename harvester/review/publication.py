"""Whether the next export publishes an approved story, and if not, why not.

The checks are the ones ``harvester.export.items.decide`` makes, so the review page
shows the same outcome the export reaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harvester.export.items import RELEASED_STATUSES, hold_reasons
from store.models import Story

State = Literal["ready", "held", "no_consent", "gone"]

# Short labels for the queue's badges. A ready story gets no badge.
BADGES: dict[State, str] = {
    "held": "held back",
    "no_consent": "no consent",
    "gone": "gone at source",
}


@dataclass(frozen=True)
class Publication:
    """The export outcome of an approved or published story, worded for curators."""

    state: State
    message: str
    reasons: tuple[str, ...] = ()

    @property
    def badge(self) -> str | None:
        return BADGES.get(self.state)


def publication_state(story: Story, pupils: Iterable[str]) -> Publication | None:
    """Return what the next export does with ``story``, or None unless curators released it.

    ``pupils`` are the names tagged as pupils in the story. The order of the checks
    matches ``decide``: the privacy guard only runs once a story may be published.
    """
    if story.status not in RELEASED_STATUSES:
        return None
    if story.gone_at_source is not None:
        return Publication(
            "gone", "will not be published: the original post was deleted at its source"
        )
    if story.consent != "given":
        return Publication(
            "no_consent",
            f"will not be published until consent is given (consent is {story.consent})",
        )
    reasons = hold_reasons(story, pupils)
    if reasons:
        return Publication("held", "held back: " + "; ".join(reasons), tuple(reasons))
    if story.status == "published":
        return Publication("ready", "published: the next export sends this version")
    return Publication("ready", "ready to publish")
