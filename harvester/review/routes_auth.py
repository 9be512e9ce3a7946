"""Login and logout."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from harvester.review.accounts import CuratorInfo, authenticate
from harvester.review.security import CSRF_FIELD, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from harvester.review.web import current_curator, render, review_state, safe_next

log = logging.getLogger(__name__)
router = APIRouter()


def _login_page(
    request: Request, next_path: str, error: str | None = None, status_code: int = 200
) -> Response:
    state = review_state(request)
    token = state.codec.issue_login_token()
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "csrf_field": CSRF_FIELD,
            "next": next_path,
            "error": error,
        },
        status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/queue") -> Response:
    return _login_page(request, safe_next(next))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    state = review_state(request)
    target = safe_next(next)
    if not state.codec.check_login_token(
        request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token
    ):
        log.warning("rejected a login form with an invalid CSRF token")
        return _login_page(request, target, "The form expired. Log in again.", 403)

    address = email.strip().lower()
    if state.throttle.blocked(address):
        log.warning("login for %s blocked after repeated failures", address)
        return _login_page(
            request,
            target,
            "Too many failed logins for this address. Wait 15 minutes.",
            429,
        )
    result = authenticate(state.db, address, password)
    if result is None:
        state.throttle.record_failure(address)
        log.warning("failed login for %s", address)
        return _login_page(request, target, "Wrong email address or password.", 401)

    state.throttle.clear(address)
    curator, password_hash = result
    token, _ = state.codec.issue(curator.id, password_hash)
    log.info("curator %s logged in", curator.email)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(state.codec.max_age_seconds),
        httponly=True,
        samesite="lax",
        secure=state.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, curator: Annotated[CuratorInfo, Depends(current_curator)]
) -> Response:
    # NOTE: sessions are signed cookies, so a copy of this cookie taken before logout stays
    # valid until it expires or the curator's password changes.
    log.info("curator %s logged out", curator.email)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
