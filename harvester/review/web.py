"""The FastAPI app of the curator review page: set-up, login check, CSRF check, errors.

Every route except the login form depends on ``current_curator``, which rejects a
missing or expired session and checks the CSRF token of every request that is not
GET or HEAD. Templates autoescape everything; the only unescaped markup is the SVG
built by ``charts``, which escapes its labels itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from harvester.app import App
from harvester.review.accounts import CuratorInfo, load_curator
from harvester.review.decisions import (
    ConflictError,
    NotFoundError,
    ReviewError,
    fits_row_id,
)
from harvester.review.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginThrottle,
    SessionCodec,
    password_fingerprint,
    resolve_secret_key,
    tokens_equal,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'"
)


class LoginRequired(Exception):
    """The request has no valid session."""


class CsrfRejected(Exception):
    """The request's CSRF token is missing or wrong."""


class Forbidden(Exception):
    """The curator's role does not allow the request."""


@dataclass
class ReviewState:
    """Shared state of the request handlers, stored on ``app.state.review``."""

    app: App
    codec: SessionCodec
    throttle: LoginThrottle
    templates: Jinja2Templates
    secure_cookies: bool = False

    @property
    def db(self) -> Any:
        return self.app.db


def review_state(request: Request) -> ReviewState:
    return request.app.state.review


def wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def safe_next(target: str | None, default: str = "/queue") -> str:
    """Return ``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return default


async def current_curator(request: Request) -> CuratorInfo:
    """Return the logged-in curator, checking the session and, for writes, the CSRF token."""
    state = review_state(request)
    session = state.codec.load(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired()
    loaded = await run_in_threadpool(load_curator, state.db, session.curator_id)
    if loaded is None:
        raise LoginRequired()
    curator, password_hash = loaded
    if password_fingerprint(password_hash) != session.fingerprint:
        raise LoginRequired()
    request.state.csrf_token = session.csrf_token
    request.state.curator = curator

    if request.method not in SAFE_METHODS:
        submitted = request.headers.get(CSRF_HEADER)
        if submitted is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
        if not tokens_equal(session.csrf_token, submitted):
            log.warning(
                "rejected %s %s by %s: invalid CSRF token",
                request.method,
                request.url.path,
                curator.email,
            )
            raise CsrfRejected()
    return curator


async def current_admin(
    curator: Annotated[CuratorInfo, Depends(current_curator)],
) -> CuratorInfo:
    if not curator.is_admin:
        raise Forbidden()
    return curator


async def check_path_ids(
    request: Request,
    curator: Annotated[CuratorInfo, Depends(current_curator)],
) -> None:
    """Raise NotFoundError for a path id no row can have.

    Without this check an id outside the 64-bit range of id columns reaches the database
    driver, which raises OverflowError (SQLite) instead of finding nothing.
    It depends on ``current_curator`` so that a request without a session still goes
    to the login page first.
    """
    for name, value in request.path_params.items():
        if not name.endswith("_id"):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if not fits_row_id(number):
            label = name.removesuffix("_id").replace("_", " ")
            raise NotFoundError(f"{label} {value} not found: no row has an id this large")


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    values = {
        "curator": getattr(request.state, "curator", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "csrf_field": CSRF_FIELD,
    }
    values.update(context or {})
    return review_state(request).templates.TemplateResponse(
        request, name, values, status_code=status_code
    )


def error_response(request: Request, status_code: int, message: str) -> Response:
    browser_form = "text/html" in request.headers.get("accept", "")
    if wants_json(request) or (request.method not in SAFE_METHODS and not browser_form):
        return JSONResponse({"error": message}, status_code=status_code)
    return render(
        request,
        "error.html",
        {"message": message, "status_code": status_code},
        status_code,
    )


def _install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(LoginRequired)
    async def _login_required(request: Request, error: LoginRequired) -> Response:
        if request.method in SAFE_METHODS and not wants_json(request):
            target = request.url.path + (
                f"?{request.url.query}" if request.url.query else ""
            )
            return RedirectResponse(
                f"/login?next={quote(target, safe='')}", status_code=303
            )
        return JSONResponse(
            {"error": "not logged in: log in and try again"}, status_code=401
        )

    @api.exception_handler(CsrfRejected)
    async def _csrf(request: Request, error: CsrfRejected) -> Response:
        return error_response(
            request, 403, "invalid or missing CSRF token: reload the page and try again"
        )

    @api.exception_handler(Forbidden)
    async def _forbidden(request: Request, error: Forbidden) -> Response:
        return error_response(
            request, 403, "this page is for admins: ask an admin to change your role"
        )

    @api.exception_handler(NotFoundError)
    async def _not_found(request: Request, error: NotFoundError) -> Response:
        return error_response(request, 404, str(error))

    @api.exception_handler(ConflictError)
    async def _conflict(request: Request, error: ConflictError) -> Response:
        return error_response(request, 409, str(error))

    @api.exception_handler(ReviewError)
    async def _review_error(request: Request, error: ReviewError) -> Response:
        return error_response(request, 400, str(error))


def _install_headers(api: FastAPI) -> None:
    @api.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(app: App, *, secure_cookies: bool = False) -> FastAPI:
    """Build the review web app over ``app``'s config and database.

    ``secure_cookies`` marks cookies HTTPS-only; set it when a TLS proxy serves the app.
    """
    from harvester.review import routes_admin, routes_auth, routes_queue, routes_story

    settings = app.config.review
    codec = SessionCodec(
        resolve_secret_key(settings), max_age_seconds=settings.session_hours * 3600
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["as_json"] = lambda value: json.dumps(
        value, ensure_ascii=False, sort_keys=True
    )

    api = FastAPI(
        title="harvester review", docs_url=None, redoc_url=None, openapi_url=None
    )
    api.state.review = ReviewState(
        app, codec, LoginThrottle(), templates, secure_cookies
    )
    api.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    api.include_router(routes_auth.router)
    for module in (routes_queue, routes_story, routes_admin):
        api.include_router(module.router, dependencies=[Depends(check_path_ids)])
    _install_error_handlers(api)
    _install_headers(api)
    return api
