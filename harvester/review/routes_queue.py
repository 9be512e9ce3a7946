"""The queue page, single decisions and bulk decisions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from harvester.review import actions
from harvester.review.accounts import CuratorInfo
from harvester.review.decisions import STATUSES
from harvester.review.queue import (
    Cursor,
    QueueFilters,
    fetch_queue,
    known_sources,
    status_counts,
)
from harvester.review.web import (
    current_curator,
    render,
    review_state,
    safe_next,
    wants_json,
)

router = APIRouter()
Curator = Annotated[CuratorInfo, Depends(current_curator)]


@router.get("/")
def home(curator: Curator) -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
def queue_page(request: Request, curator: Curator) -> Response:
    params = dict(request.query_params)
    filters = QueueFilters.from_params(params)
    after = Cursor.decode(params.get("after"))
    with review_state(request).db.read() as session:
        page = fetch_queue(session, filters, after)
        counts = status_counts(session)
        sources = known_sources(session)

    base = filters.to_params()
    if "status" not in base:
        base["status"] = "all"
    next_url = (
        "/queue?" + urlencode({**base, "after": page.next_cursor.encode()})
        if page.next_cursor
        else None
    )
    current_url = "/queue?" + urlencode(
        {**base, **({"after": params["after"]} if after else {})}
    )
    return render(
        request,
        "queue.html",
        {
            "page": page,
            "filters": filters,
            "counts": counts,
            "statuses": STATUSES,
            "sources": sources,
            "next_url": next_url,
            "first_url": "/queue?" + urlencode(base),
            "current_url": current_url,
            "status_url": lambda status: (
                "/queue?" + urlencode({**base, "status": status})
            ),
        },
    )


@router.post("/stories/{story_id}/decision")
def decision(
    request: Request,
    story_id: int,
    curator: Curator,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    status = actions.decide(
        review_state(request).db, curator, story_id, action, reason or None
    )
    if wants_json(request):
        return JSONResponse({"id": story_id, "status": status})
    return RedirectResponse(safe_next(next, f"/stories/{story_id}"), status_code=303)


@router.post("/queue/bulk")
def bulk(
    request: Request,
    curator: Curator,
    action: Annotated[str, Form()],
    ids: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    reason: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    result = actions.bulk_decide(
        review_state(request).db, curator, ids, action, reason or None
    )
    if wants_json(request):
        return JSONResponse({"changed": result.changed, "skipped": result.skipped})
    if result.skipped:
        return render(
            request,
            "bulk_result.html",
            {"result": result, "action": action, "next": safe_next(next)},
        )
    return RedirectResponse(safe_next(next), status_code=303)
