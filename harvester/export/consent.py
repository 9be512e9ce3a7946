"""Consent and attribution: the values a story may carry and how to change them.

The review page and ``harvester consent`` both call ``set_consent`` so that every
change is checked the same way and leaves an audit event.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy.orm import Session

from harvester.errors import UsageError
from store.models import AuditEvent, Story

Consent = Literal["unknown", "given", "declined", "withdrawn"]
Attribution = Literal["full_name", "first_name", "handle", "anonymous"]

CONSENT_VALUES: tuple[str, ...] = get_args(Consent)
ATTRIBUTIONS: tuple[str, ...] = get_args(Attribution)
ANONYMOUS = "Anonymous"


def validate_consent(
    consent: str, attribution: str, *, kind: str, handle: str | None
) -> None:
    """Raise UsageError unless ``consent`` and ``attribution`` are allowed for this story.

    Attribution by handle needs a post with a known author handle, because mailed
    stories have only a name and an address.
    """
    if consent not in CONSENT_VALUES:
        raise UsageError(
            f"invalid consent {consent!r}: use one of {', '.join(CONSENT_VALUES)}"
        )
    if attribution not in ATTRIBUTIONS:
        raise UsageError(
            f"invalid attribution {attribution!r}: use one of {', '.join(ATTRIBUTIONS)}"
        )
    if attribution == "handle" and (kind != "tweet" or not handle):
        raise UsageError(
            "attribution 'handle' needs a post with an author handle: choose full_name, first_name or anonymous"
        )


def attribution_name(
    attribution: str, *, author_name: str | None, author_handle: str | None
) -> str:
    """Return the name a published story shows for its author.

    A missing name falls back to the next more private choice, ending at "Anonymous".
    A name that looks like an email address is never shown.
    """
    name = (author_name or "").strip()
    if "@" in name:
        name = ""
    handle = (author_handle or "").strip().lstrip("@")

    if attribution == "full_name" and name:
        return name
    if attribution in ("full_name", "first_name") and name:
        return name.split()[0]
    if attribution in ("full_name", "handle") and handle:
        return "@" + handle
    return ANONYMOUS


def set_consent(
    session: Session,
    story: Story,
    consent: str,
    attribution: str | None = None,
    *,
    actor: str = "system",
    curator_id: int | None = None,
    note: str | None = None,
) -> AuditEvent | None:
    """Store the consent and attribution of ``story`` and record the change as an audit event.

    Return the event, or None when nothing changed. The caller commits the session.
    A later export or publish run turns a withdrawal into a deletion.
    """
    attribution = attribution or story.attribution
    validate_consent(consent, attribution, kind=story.kind, handle=story.author_handle)
    before = {"consent": story.consent, "attribution": story.attribution}
    after = {"consent": consent, "attribution": attribution}
    if before == after:
        return None

    story.consent = consent
    story.attribution = attribution
    story.version = (story.version or 1) + 1
    event = AuditEvent(
        story_id=story.id,
        curator_id=curator_id,
        actor=actor,
        action="consent",
        before=before,
        after=after,
        note=note,
    )
    session.add(event)
    return event
