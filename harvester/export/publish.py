"""Send new, changed and withdrawn stories to the community site, signed and retried.

A run has two steps. ``queue_deliveries`` compares every released or approved story
with its deliveries and adds a ``deliveries`` row for each version to send (POST) or
each story to take back (DELETE). ``send_pending`` then sends the rows in order.

Every request carries:

- ``X-Harvester-Timestamp``: Unix time in seconds when the request was signed.
- ``X-Harvester-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the
  shared secret, of the timestamp, a ``.`` and the raw body bytes.
- ``Idempotency-Key``: the same on every retry of one delivery and different for
  each new version, so the site applies a version once even when a retry repeats it.

5xx responses, 408, 429, timeouts and dropped connections are retried with exponential
backoff up to ``publish.max_attempts``. A delivery still failing stays ``failed`` and
the next run sends it again. A 4xx response is recorded, and the next run also sends that delivery again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.wait import wait_base

from harvester.app import App
from harvester.config import PublishSettings, secret
from harvester.errors import ConfigError
from harvester.export.items import (
    Tombstone,
    candidates,
    decide,
    mark_released,
    story_item,
    story_key,
    update_quietly,
)
from store.db import Database
from store.models import Delivery, Story

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Harvester-Signature"
TIMESTAMP_HEADER = "X-Harvester-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
OPEN_STATUSES = ("pending", "failed")
QUEUE_BATCH = 500
DEFAULT_WAIT = wait_exponential(multiplier=1, min=1, max=60)


class RetryableResponse(Exception):
    """A response status worth retrying: 5xx, 408 or 429."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


@dataclass
class PublishSummary:
    """Counts of one publish run: deliveries queued and sent, and stories held back."""

    queued_upserts: int = 0
    queued_deletes: int = 0
    superseded: int = 0
    held: list[tuple[int, list[str]]] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0


def encode_body(document: dict[str, Any]) -> bytes:
    """Return the canonical JSON bytes of a request body: sorted keys, no spaces."""
    return json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


def sign(secret_value: str, timestamp: str, body: bytes) -> str:
    """Return the ``X-Harvester-Signature`` value for ``body`` signed at ``timestamp``."""
    message = timestamp.encode("ascii") + b"." + body
    return (
        "sha256="
        + hmac.new(secret_value.encode("utf-8"), message, hashlib.sha256).hexdigest()
    )


def verify_signature(
    secret_value: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """Check a signature as the receiving site should: HMAC match and a fresh timestamp."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > max_age_seconds:
        return False
    return hmac.compare_digest(sign(secret_value, timestamp, body), signature)


# --- queueing -------------------------------------------------------------------


def _on_site(deliveries: list[Delivery]) -> bool:
    """Return whether the site may hold the story, judged from its deliveries in order.

    An upsert that was tried at all counts, because a timed-out request may still have
    reached the site. Only a delivered deletion takes the story off.
    """
    on_site = False
    for delivery in deliveries:
        if delivery.action == "upsert" and (
            delivery.status == "delivered" or delivery.attempts > 0
        ):
            on_site = True
        elif delivery.action == "delete" and delivery.status == "delivered":
            on_site = False
    return on_site


def _supersede_open(deliveries: list[Delivery], action: str | None = None) -> int:
    count = 0
    for delivery in deliveries:
        if delivery.status in OPEN_STATUSES and (
            action is None or delivery.action == action
        ):
            delivery.status = "superseded"
            count += 1
    return count


def _next_key(session: Session, key: str) -> str:
    """Return ``{story id}#{n}``, numbering the deliveries of one story from 1."""
    count = (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.story_key == key)
        )
        or 0
    )
    return f"{key}#{count + 1}"


def queue_delete(
    session: Session,
    key: str,
    story_id: int | None,
    version: int,
    deliveries: list[Delivery],
) -> bool:
    """Queue a DELETE for ``key`` unless the site cannot hold it or one is already open."""
    open_deletes = [
        d for d in deliveries if d.action == "delete" and d.status in OPEN_STATUSES
    ]
    _supersede_open(deliveries, "upsert")
    if open_deletes or not _on_site(deliveries):
        return False
    session.add(
        Delivery(
            story_key=key,
            story_id=story_id,
            version=version,
            action="delete",
            idempotency_key=_next_key(session, key),
        )
    )
    session.flush()
    return True


def take_back(session: Session, story: Story) -> tuple[bool, bool]:
    """Queue a DELETE for a story about to be removed from the store.

    Return whether a DELETE was queued, and whether the site may hold the story
    (it was released or has deliveries).
    """
    key = story_key(story.source, story.external_id)
    deliveries = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.story_key == key, Delivery.status != "superseded")
            .order_by(Delivery.id)
        )
    )
    queued = queue_delete(session, key, None, story.version, deliveries)
    return queued, story.released_at is not None or bool(deliveries)


def _queue_story(
    session: Session, story: Story, deliveries: list[Delivery], summary: PublishSummary
) -> None:
    key = story_key(story.source, story.external_id)
    decision = decide(story)
    live = [d for d in deliveries if d.status != "superseded"]

    if decision.action == "upsert":
        sha = hashlib.sha256(encode_body(story_item(story).to_json())).hexdigest()
        latest = live[-1] if live else None
        if (
            latest is not None
            and latest.action == "upsert"
            and latest.payload_sha256 == sha
        ):
            return
        summary.superseded += _supersede_open(live)
        session.add(
            Delivery(
                story_key=key,
                story_id=story.id,
                version=story.version,
                action="upsert",
                idempotency_key=_next_key(session, key),
                payload_sha256=sha,
            )
        )
        session.flush()
        if story.released_at is None:
            mark_released(session, [story.id], datetime.now(timezone.utc))
        summary.queued_upserts += 1
        return

    if decision.action == "hold":
        # The site keeps the last clean version; the new text must not be sent.
        summary.held.append((story.id, decision.reasons))
        summary.superseded += _supersede_open(live, "upsert")
        return

    if queue_delete(session, key, story.id, story.version, live):
        summary.queued_deletes += 1


def queue_deliveries(
    db: Database, summary: PublishSummary | None = None
) -> PublishSummary:
    """Add a delivery for every story whose version on the site is missing, old or withdrawn."""
    summary = summary or PublishSummary()
    last_id = 0
    while True:
        with db.write() as session:
            query = candidates().where(Story.id > last_id).limit(QUEUE_BATCH)
            stories = list(session.scalars(query))
            if not stories:
                break
            keys = {
                story_key(story.source, story.external_id): story for story in stories
            }
            by_key: dict[str, list[Delivery]] = {key: [] for key in keys}
            found = session.scalars(
                select(Delivery)
                .where(Delivery.story_key.in_(keys))
                .order_by(Delivery.id)
            )
            for delivery in found:
                by_key[delivery.story_key].append(delivery)
            for key, story in keys.items():
                _queue_story(session, story, by_key[key], summary)
            last_id = stories[-1].id
    for story_id, reasons in summary.held:
        log.warning(
            "story %s held back from publishing: %s", story_id, "; ".join(reasons)
        )
    return summary


# --- sending --------------------------------------------------------------------


@dataclass
class _Request:
    delivery_id: int
    method: str
    url: str
    body: bytes
    idempotency_key: str
    story_key: str


def _prepare(session: Session, delivery: Delivery, url: str) -> _Request | None:
    """Build the request of an open delivery, or supersede it when the story moved on."""
    if delivery.action == "delete":
        body = encode_body(Tombstone(delivery.story_key, delivery.created_at).to_json())
        target = url.rstrip("/") + "/" + quote(delivery.story_key, safe=":")
        return _Request(
            delivery.id,
            "DELETE",
            target,
            body,
            delivery.idempotency_key,
            delivery.story_key,
        )

    story = (
        session.get(Story, delivery.story_id) if delivery.story_id is not None else None
    )
    if story is None or decide(story).action != "upsert":
        delivery.status = "superseded"
        return None
    body = encode_body(story_item(story).to_json())
    if hashlib.sha256(body).hexdigest() != delivery.payload_sha256:
        # The story changed after queueing; the next queue step sends the new version.
        delivery.status = "superseded"
        return None
    return _Request(
        delivery.id, "POST", url, body, delivery.idempotency_key, delivery.story_key
    )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning(
        "delivery attempt %d failed (%s); retrying in %.1fs",
        state.attempt_number,
        error,
        wait,
    )


def _send(
    client: httpx.Client,
    request: _Request,
    settings: PublishSettings,
    secret_value: str,
    wait: wait_base,
) -> tuple[httpx.Response | None, int, str | None]:
    """Send one request with retries; return the last response, attempts and error text."""
    attempts = 0
    retrying = Retrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=wait,
        retry=retry_if_exception_type((httpx.TransportError, RetryableResponse)),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    TIMESTAMP_HEADER: timestamp,
                    SIGNATURE_HEADER: sign(secret_value, timestamp, request.body),
                    IDEMPOTENCY_HEADER: request.idempotency_key,
                }
                response = client.request(
                    request.method, request.url, content=request.body, headers=headers
                )
                log.info(
                    "delivery %s %s %s -> HTTP %s",
                    request.delivery_id,
                    request.method,
                    request.story_key,
                    response.status_code,
                )
                if response.status_code >= 500 or response.status_code in (408, 429):
                    raise RetryableResponse(response.status_code)
                return response, attempts, None
    except RetryableResponse as error:
        return None, attempts, f"{error} after {attempts} attempt(s)"
    except httpx.TransportError as error:
        return None, attempts, f"{type(error).__name__} after {attempts} attempt(s)"
    return None, attempts, "no attempt made"


def _succeeded(request: _Request, response: httpx.Response) -> bool:
    if response.is_success:
        return True
    # Deleting a story the site no longer has leaves the site as intended.
    return request.method == "DELETE" and response.status_code in (404, 410)


def _record(
    db: Database,
    request: _Request,
    response: httpx.Response | None,
    attempts: int,
    error: str | None,
) -> bool:
    with db.write() as session:
        delivery = session.get(Delivery, request.delivery_id)
        if delivery is None:
            return False
        delivery.attempts += attempts
        delivery.response_code = response.status_code if response is not None else None
        if response is not None and _succeeded(request, response):
            delivery.status = "delivered"
            delivery.delivered_at = datetime.now(timezone.utc)
            delivery.last_error = None
            if delivery.story_id is not None and delivery.action == "upsert":
                update_quietly(
                    session,
                    [delivery.story_id],
                    Story.status == "approved",
                    status="published",
                )
            elif delivery.story_id is not None:
                update_quietly(
                    session,
                    [delivery.story_id],
                    Story.status == "published",
                    status="approved",
                )
            return True
        delivery.status = "failed"
        delivery.last_error = (
            error or f"HTTP {response.status_code if response is not None else '?'}"
        )
        log.error(
            "delivery %s of %s failed: %s",
            delivery.id,
            delivery.story_key,
            delivery.last_error,
        )
        return False


def send_pending(
    db: Database,
    settings: PublishSettings,
    client: httpx.Client,
    *,
    wait: wait_base = DEFAULT_WAIT,
    summary: PublishSummary | None = None,
) -> PublishSummary:
    """Send every open delivery in the order it was queued and record each outcome."""
    summary = summary or PublishSummary()
    secret_value = secret(
        settings.secret_env, "shared secret that signs deliveries to the community site"
    )
    with db.read() as session:
        query = (
            select(Delivery.id)
            .where(Delivery.status.in_(OPEN_STATUSES))
            .order_by(Delivery.id)
        )
        delivery_ids = list(session.scalars(query))

    for delivery_id in delivery_ids:
        with db.write() as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.status not in OPEN_STATUSES:
                continue
            request = _prepare(session, delivery, settings.url)
        if request is None:
            summary.superseded += 1
            continue
        response, attempts, error = _send(client, request, settings, secret_value, wait)
        if _record(db, request, response, attempts, error):
            summary.delivered += 1
        else:
            summary.failed += 1
    return summary


def publish_pending(
    app: App,
    *,
    client: httpx.Client | None = None,
    wait: wait_base = DEFAULT_WAIT,
) -> PublishSummary:
    """Queue and send everything the community site is missing; the scheduler calls this."""
    settings = app.config.publish
    if settings is None:
        raise ConfigError(
            "no publish target in config: add a 'publish' section with the site's url"
        )
    summary = PublishSummary()
    log.info("publish to %s started", settings.url)
    queue_deliveries(app.db, summary)
    own_client = client is None
    http = client or httpx.Client(timeout=settings.timeout)
    try:
        send_pending(app.db, settings, http, wait=wait, summary=summary)
    finally:
        if own_client:
            http.close()
    log.info(
        "publish finished: %d upserts and %d deletions queued, %d delivered, %d failed, %d held back",
        summary.queued_upserts,
        summary.queued_deletes,
        summary.delivered,
        summary.failed,
        len(summary.held),
    )
    return summary
