"""The ``twitter`` source: X API v2 recent search through tweepy.

Each response page becomes one Batch, with one RawItem per post (see
``sources.files.split_page``) and the checkpoint to save once the page is committed:

    since_id    newest post id of the last finished search, where the next search starts
    next_token  page where an unfinished search resumes
    newest_id   newest post id of the unfinished search, which becomes since_id at its end
    reset_at    ISO 8601 UTC time when the rate limit of a 429 response ends

On HTTP 429 the source yields an empty Batch that carries ``next_token`` and
``reset_at``, then raises RateLimited. A run that starts before ``reset_at`` fetches
nothing and resumes from ``next_token`` once the limit has reset, so earlier pages
are not fetched again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import requests
import tweepy
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from harvester.config import TwitterSource, secret
from harvester.errors import (
    PermanentSourceError,
    RateLimited,
    TransientSourceError,
    UsageError,
)
from harvester.logs import MASK
from harvester.records import Batch, RawItem
from sources.files import compact_json, split_page

log = logging.getLogger(__name__)

# tweepy 4.17 sends every v2 request to this host, and ``_ApiSession`` swaps it for base_url.
API_HOST = "https://api.twitter.com"
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "entities",
    "note_tweet",
    "referenced_tweets",
    "lang",
    "conversation_id",
]
EXPANSIONS = ["author_id", "entities.mentions.username", "referenced_tweets.id"]
USER_FIELDS = ["name", "username"]
LOOKUP_BATCH = 100  # the maximum number of ids GET /2/tweets accepts

# X counts rate limits in 15-minute windows. This is the wait when a 429 has no x-rate-limit-reset.
DEFAULT_RATE_LIMIT_WINDOW = timedelta(minutes=15)
RETRY_ATTEMPTS = 3
RETRY_WAIT = wait_exponential(multiplier=0.5, max=4)
TRANSIENT_ERRORS = (
    tweepy.TwitterServerError,
    requests.ConnectionError,
    requests.Timeout,
)

T = TypeVar("T")


class _MaskBearerToken(logging.Filter):
    """Mask bearer tokens in tweepy's records: at DEBUG, tweepy 4.17 logs request headers."""

    _pattern = re.compile(r"Bearer\s+[^\s'\",}]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg = self._pattern.sub(f"Bearer {MASK}", message)
            record.args = None
        return True


logging.getLogger("tweepy.client").addFilter(_MaskBearerToken())


class _ApiSession(requests.Session):
    """A requests session that sets a timeout on every request (tweepy sets none) and can change the host."""

    def __init__(self, timeout: float, base_url: str | None = None) -> None:
        super().__init__()
        self.timeout = timeout
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if self.base_url and isinstance(url, str) and url.startswith(API_HOST):
            url = self.base_url + url[len(API_HOST) :]
        return super().request(method, url, *args, **kwargs)


def make_client(settings: TwitterSource) -> tweepy.Client:
    """Build a tweepy Client that returns plain dicts, so pages keep their v2 shape."""
    token = secret(settings.bearer_token_env, "X API bearer token")
    client = tweepy.Client(
        bearer_token=token, return_type=dict, wait_on_rate_limit=False
    )
    client.session = _ApiSession(settings.timeout, settings.base_url)
    return client


@dataclass
class SearchCheckpoint:
    """Resume point of a recent search, stored by the pipeline as a JSON object."""

    since_id: str | None = None
    next_token: str | None = None
    newest_id: str | None = None
    reset_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SearchCheckpoint:
        data = data or {}
        reset_at = None
        if data.get("reset_at"):
            reset_at = datetime.fromisoformat(str(data["reset_at"])).astimezone(
                timezone.utc
            )
        return cls(
            since_id=_id_or_none(data.get("since_id")),
            next_token=data.get("next_token") or None,
            newest_id=_id_or_none(data.get("newest_id")),
            reset_at=reset_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "since_id": self.since_id,
            "next_token": self.next_token,
            "newest_id": self.newest_id,
            "reset_at": self.reset_at.isoformat() if self.reset_at else None,
        }


def _id_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _newer_id(current: str | None, candidate: Any) -> str | None:
    """Return the larger of two post ids, compared as numbers rather than strings."""
    if candidate in (None, ""):
        return current
    if current is None or int(candidate) > int(current):
        return str(candidate)
    return current


def _reset_time(error: tweepy.TooManyRequests, now: datetime) -> datetime:
    if error.reset_time:
        return datetime.fromtimestamp(error.reset_time, timezone.utc)
    return now + DEFAULT_RATE_LIMIT_WINDOW


def _names_parameter(error: tweepy.HTTPException, *names: str) -> bool:
    """Return True if a 400 response names one of the given request parameters as invalid."""
    for api_error in error.api_errors:
        parameters = (
            api_error.get("parameters") if isinstance(api_error, dict) else None
        )
        if parameters and set(parameters) & set(names):
            return True
    return any(name in message for message in error.api_messages for name in names)


def call_with_retries(
    source: str, call: Callable[[], T], token_variable: str = "X_BEARER_TOKEN"
) -> T:
    """Run one X API call, retrying 5xx, connection errors and timeouts a few times.

    Raise TransientSourceError when the retries run out, PermanentSourceError when
    the X API rejects the bearer token, and let other tweepy errors through.
    """

    def log_retry(state: Any) -> None:
        log.warning(
            "source %s: X API call failed (%s), retry %d of %d in %.1f s",
            source,
            state.outcome.exception(),
            state.attempt_number,
            RETRY_ATTEMPTS - 1,
            state.next_action.sleep if state.next_action else 0.0,
        )

    retrying = Retrying(
        stop=stop_after_attempt(RETRY_ATTEMPTS),
        wait=RETRY_WAIT,
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(call)
    except TRANSIENT_ERRORS as error:
        raise TransientSourceError(
            source,
            f"X API request failed after {RETRY_ATTEMPTS} attempts: {error}; the next run tries again",
        ) from error
    except (tweepy.Unauthorized, tweepy.Forbidden) as error:
        raise PermanentSourceError(
            source,
            f"X API rejected the bearer token in {token_variable}: {error}; "
            "set it to a valid app bearer token with access to recent search",
        ) from error


class TwitterSearch:
    """Recent search of the X API v2 for the configured query (default ``#ConnectED``)."""

    def __init__(
        self, name: str, settings: TwitterSource, *, client: tweepy.Client | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self._client = client

    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        state = SearchCheckpoint.from_dict(checkpoint)
        if state.reset_at is not None and self._now() < state.reset_at:
            log.info(
                "source %s: rate limited until %s, so nothing is fetched this run",
                self.name,
                state.reset_at.isoformat(),
            )
            return
        state.reset_at = None
        yield from self._search(state)

    def _pages(self, state: SearchCheckpoint) -> Iterator[dict[str, Any]]:
        paginator = tweepy.Paginator(
            self.client.search_recent_tweets,
            self.settings.query,
            max_results=self.settings.max_results,
            since_id=state.since_id,
            pagination_token=state.next_token,
            tweet_fields=TWEET_FIELDS,
            expansions=EXPANSIONS,
            user_fields=USER_FIELDS,
        )
        return iter(paginator)

    def _search(self, state: SearchCheckpoint) -> Iterator[Batch]:
        log.info(
            "source %s: searching %r since_id=%s%s",
            self.name,
            self.settings.query,
            state.since_id,
            " from a saved next_token" if state.next_token else "",
        )
        pages = self._pages(state)
        page_number = 0
        while True:
            try:
                page = call_with_retries(
                    self.name,
                    lambda pages=pages: next(pages, None),
                    self.settings.bearer_token_env,
                )
            except tweepy.TooManyRequests as error:
                state.reset_at = _reset_time(error, self._now())
                log.warning(
                    "source %s: X API rate limit reached, "
                    "the next run after %s resumes from the saved next_token",
                    self.name,
                    state.reset_at.isoformat(),
                )
                yield Batch(items=[], checkpoint=state.to_dict())
                raise RateLimited(self.name, state.reset_at) from error
            except tweepy.BadRequest as error:
                if page_number == 0 and self._recover_from_bad_request(state, error):
                    pages = self._pages(state)
                    continue
                raise PermanentSourceError(
                    self.name,
                    f"X API rejected the search request: {error}; check 'query' in config.yaml",
                ) from error
            except tweepy.HTTPException as error:
                raise PermanentSourceError(
                    self.name, f"X API request failed: {error}"
                ) from error
            if page is None:
                return

            page_number += 1
            yield self._batch(page, page_number, state)

    def _recover_from_bad_request(
        self, state: SearchCheckpoint, error: tweepy.BadRequest
    ) -> bool:
        """Drop a since_id or next_token that the X API rejected.

        Return True if the search can run again without it.
        """
        if state.since_id and _names_parameter(error, "since_id"):
            # Recent search covers only the last 7 days, so an older since_id is rejected.
            log.warning(
                "source %s: X API rejected since_id %s (%s), "
                "so the search covers the whole 7-day window instead",
                self.name,
                state.since_id,
                error,
            )
            state.since_id = None
            return True
        if state.next_token and _names_parameter(
            error, "next_token", "pagination_token"
        ):
            log.warning(
                "source %s: X API rejected the saved next_token (%s), "
                "so the search starts again from since_id %s",
                self.name,
                error,
                state.since_id,
            )
            state.next_token = None
            return True
        return False

    def _batch(
        self, page: dict[str, Any], page_number: int, state: SearchCheckpoint
    ) -> Batch:
        fetched_at = self._now()
        meta = page.get("meta") or {}
        state.newest_id = _newer_id(state.newest_id, meta.get("newest_id"))
        origin = f"recent search page {page_number}"
        items = [
            RawItem(
                self.name,
                "tweet",
                external_id,
                compact_json(payload),
                fetched_at,
                origin=f"{origin}, post {external_id}",
            )
            for external_id, payload in split_page(page)
        ]
        for api_error in page.get("errors") or []:
            log.info(
                "source %s: %s reports: %s",
                self.name,
                origin,
                api_error.get("detail") or api_error.get("title"),
            )

        state.next_token = meta.get("next_token") or None
        if state.next_token is None:
            # The whole search is stored once this batch commits, so later runs start after it.
            state.since_id = state.newest_id or state.since_id
            state.newest_id = None
        log.info(
            "source %s: %s: %d posts (result_count %s)%s",
            self.name,
            origin,
            len(items),
            meta.get("result_count"),
            "" if state.next_token else "; search finished",
        )
        return Batch(items=items, checkpoint=state.to_dict())

    def after_commit(self, batch: Batch) -> None:
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()


def _lookup_status(error: dict[str, Any]) -> str:
    title = str(error.get("title") or "")
    detail = str(error.get("detail") or "").lower()
    if title == "Not Found Error":
        return "deleted"
    if title == "Authorization Error":
        return "protected"
    if "suspended" in detail:
        return "suspended"
    return "unavailable"


def lookup_posts(
    settings: TwitterSource, ids: Sequence[str], *, source: str = "twitter"
) -> dict[str, str]:
    """Ask the X API whether published posts still exist, 100 ids per request.

    Return id -> status: ``ok``, ``withheld`` (hidden in some countries), ``deleted``
    (the X API reports it not found), ``protected``, ``suspended`` (its author is),
    ``unavailable`` (another error) or ``not_found`` (absent from the response).
    """
    for post_id in ids:
        if not str(post_id).isdigit():
            raise UsageError(f"invalid X post id {post_id!r}: expected digits")
    client = make_client(settings)
    statuses: dict[str, str] = {}
    try:
        for start in range(0, len(ids), LOOKUP_BATCH):
            chunk = [str(post_id) for post_id in ids[start : start + LOOKUP_BATCH]]
            try:
                response = call_with_retries(
                    source,
                    lambda chunk=chunk: client.get_tweets(
                        ids=chunk, tweet_fields=["withheld"]
                    ),
                    settings.bearer_token_env,
                )
            except tweepy.TooManyRequests as error:
                raise RateLimited(
                    source, _reset_time(error, datetime.now(timezone.utc))
                ) from error
            except tweepy.HTTPException as error:
                raise PermanentSourceError(
                    source, f"X API post lookup failed: {error}"
                ) from error
            for post in response.get("data") or []:
                statuses[str(post["id"])] = "withheld" if post.get("withheld") else "ok"
            for error in response.get("errors") or []:
                post_id = str(error.get("resource_id") or error.get("value") or "")
                if post_id in chunk and error.get("parameter", "ids") == "ids":
                    statuses.setdefault(post_id, _lookup_status(error))
            for post_id in chunk:
                statuses.setdefault(post_id, "not_found")
    finally:
        client.session.close()
    return statuses
