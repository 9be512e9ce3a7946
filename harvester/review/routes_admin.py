"""Quarantine, dashboard and (for admins) curator accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from harvester.review import charts
from harvester.review.accounts import (
    ROLES,
    CuratorInfo,
    add_curator,
    list_curators,
    update_curator,
)
from harvester.review.dashboard import load_dashboard
from harvester.review.quarantine import list_quarantined, release
from harvester.review.queue import Cursor
from harvester.review.web import current_admin, current_curator, render, review_state

router = APIRouter()
Curator = Annotated[CuratorInfo, Depends(current_curator)]
Admin = Annotated[CuratorInfo, Depends(current_admin)]


@router.get("/quarantine")
def quarantine_page(request: Request, curator: Curator, after: str = "") -> Response:
    page = list_quarantined(review_state(request).db, Cursor.decode(after))
    next_url = (
        f"/quarantine?after={page.next_cursor.encode()}" if page.next_cursor else None
    )
    return render(request, "quarantine.html", {"page": page, "next_url": next_url})


@router.post("/quarantine/{item_id}/release")
def release_item(request: Request, item_id: int, curator: Curator) -> Response:
    story_id = release(review_state(request).db, curator, item_id)
    return RedirectResponse(f"/stories/{story_id}", status_code=303)


@router.get("/dashboard")
def dashboard_page(request: Request, curator: Curator) -> Response:
    with review_state(request).db.read() as session:
        data = load_dashboard(session)
    context = {
        "data": data,
        "per_week": charts.stacked_columns(
            data.weeks, data.stories_by_source, "Stories per week by source"
        ),
        "people": charts.bar_chart(data.top_people, "Top people in approved stories"),
        "training": charts.bar_chart(
            data.top_training, "Top training in approved stories"
        ),
        "queue": charts.line_chart(
            data.queue_size, "Stories waiting for a decision, end of each week"
        ),
    }
    return render(request, "dashboard.html", context)


@router.get("/curators")
def curators_page(request: Request, admin: Admin) -> Response:
    return render(
        request,
        "curators.html",
        {"curators": list_curators(review_state(request).db), "roles": ROLES},
    )


@router.post("/curators")
def create_curator(
    request: Request,
    admin: Admin,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()] = "curator",
) -> Response:
    add_curator(review_state(request).db, email, password, role, actor=admin)
    return RedirectResponse("/curators", status_code=303)


@router.post("/curators/update")
def change_curator(
    request: Request,
    admin: Admin,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    update_curator(
        review_state(request).db,
        email,
        role=role or None,
        active={"yes": True, "no": False}.get(active),
        actor=admin,
    )
    return RedirectResponse("/curators", status_code=303)
