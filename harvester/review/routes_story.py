"""The story page and its edits: text, tags, notes, consent, and the raw message."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import nh3
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.export.items import pupil_names
from harvester.review import actions
from harvester.review.accounts import CuratorInfo
from harvester.review.decisions import (
    ATTRIBUTIONS,
    CONSENT_VALUES,
    NotFoundError,
    highlight_segments,
    tag_matches,
)
from harvester.review.publication import publication_state
from harvester.review.queue import story_author
from harvester.review.web import current_curator, render, review_state, wants_json
from store.models import AuditEvent, RawItemRow, Retweet, Story, Training

router = APIRouter()
Curator = Annotated[CuratorInfo, Depends(current_curator)]
MAX_TRAINING_SUGGESTIONS = 500


def public_link(url: str | None) -> str | None:
    """Return ``url`` when it is an http(s) link, so no ``javascript:`` URL reaches an href."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def load_story_view(session: Session, story_id: int) -> dict[str, Any]:
    story = session.get(Story, story_id)
    if story is None:
        raise NotFoundError(f"story {story_id} not found: it may have been erased")
    spans = [actions.tag_span(tag) for tag in story.tags]
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.story_id == story_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        )
    )
    duplicates = session.scalar(
        select(func.count()).select_from(Story).where(Story.duplicate_of_id == story_id)
    )
    retweets = 0
    if story.kind == "tweet":
        retweets = session.scalar(
            select(func.count())
            .select_from(Retweet)
            .where(Retweet.original_external_id == story.external_id)
        )
    training_names = list(
        session.scalars(
            select(Training.name)
            .order_by(Training.name)
            .limit(MAX_TRAINING_SUGGESTIONS)
        )
    )
    return {
        "story": story,
        "author": story_author(story),
        "segments": highlight_segments(story.text, spans),
        "tags": [(span, tag_matches(story.text, span)) for span in spans],
        "events": events,
        "duplicates": duplicates or 0,
        "retweets": retweets or 0,
        "has_raw": story.raw_item_id is not None,
        "email_html": nh3.clean(story.html)
        if story.kind == "email" and story.html
        else None,
        "source_link": public_link(story.url),
        "publication": publication_state(story, pupil_names(story)),
        "consent_values": CONSENT_VALUES,
        "attributions": ATTRIBUTIONS,
        "training_names": training_names,
    }


@router.get("/stories/{story_id}")
def story_page(request: Request, story_id: int, curator: Curator) -> Response:
    # Render inside the session: the read transaction's rollback would expire the rows.
    with review_state(request).db.read() as session:
        return render(request, "story.html", load_story_view(session, story_id))


@router.get("/stories/{story_id}/raw")
def raw_message(request: Request, story_id: int, curator: Curator) -> Response:
    """Return the raw item as plain text; browsers must not sniff it into HTML."""
    with review_state(request).db.read() as session:
        story = session.get(Story, story_id)
        if story is None:
            raise NotFoundError(f"story {story_id} not found: it may have been erased")
        raw = session.get(RawItemRow, story.raw_item_id) if story.raw_item_id else None
        if raw is None:
            raise NotFoundError(f"story {story_id} has no stored raw item")
        payload = raw.payload
    text = payload.decode("utf-8", errors="replace")
    return PlainTextResponse(
        text,
        headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"},
    )


def _back(request: Request, story_id: int, anchor: str = "") -> Response:
    if wants_json(request):
        return JSONResponse({"id": story_id, "ok": True})
    return RedirectResponse(f"/stories/{story_id}{anchor}", status_code=303)


@router.post("/stories/{story_id}/text")
def edit_text(
    request: Request,
    story_id: int,
    curator: Curator,
    text: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    actions.edit_text(review_state(request).db, curator, story_id, text, version)
    return _back(request, story_id)


@router.post("/stories/{story_id}/tags")
def add_tag(
    request: Request,
    story_id: int,
    curator: Curator,
    kind: Annotated[str, Form()],
    phrase: Annotated[str, Form()],
    start: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    pupil: Annotated[str, Form()] = "",
) -> Response:
    offset = int(start) if start.strip().isdigit() else None
    actions.add_tag(
        review_state(request).db,
        curator,
        story_id,
        kind,
        phrase,
        offset,
        name or None,
        pupil == "on",
    )
    return _back(request, story_id, "#tags")


@router.post("/stories/{story_id}/tags/{tag_id}")
def correct_tag(
    request: Request,
    story_id: int,
    tag_id: int,
    curator: Curator,
    kind: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    pupil: Annotated[str, Form()] = "",
) -> Response:
    actions.correct_tag(
        review_state(request).db,
        curator,
        story_id,
        tag_id,
        kind,
        name or None,
        pupil == "on",
    )
    return _back(request, story_id, "#tags")


@router.post("/stories/{story_id}/tags/{tag_id}/delete")
def remove_tag(
    request: Request, story_id: int, tag_id: int, curator: Curator
) -> Response:
    actions.remove_tag(review_state(request).db, curator, story_id, tag_id)
    return _back(request, story_id, "#tags")


@router.post("/stories/{story_id}/notes")
def add_note(
    request: Request, story_id: int, curator: Curator, note: Annotated[str, Form()]
) -> Response:
    actions.add_note(review_state(request).db, curator, story_id, note)
    return _back(request, story_id, "#trail")


@router.post("/stories/{story_id}/consent")
def set_consent(
    request: Request,
    story_id: int,
    curator: Curator,
    consent: Annotated[str, Form()],
    attribution: Annotated[str, Form()],
) -> Response:
    actions.set_consent(
        review_state(request).db, curator, story_id, consent, attribution
    )
    return _back(request, story_id, "#consent")
