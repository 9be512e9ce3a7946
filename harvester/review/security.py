"""Passwords, signed session cookies, CSRF tokens and login throttling for the review app.

A session is a cookie signed with itsdangerous. It carries the curator id, the
session's CSRF token and a fingerprint of the password hash, so changing a
password ends every session of that curator. The signature embeds the time it
was made, and a session older than ``review.session_hours`` is rejected.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from harvester.config import ReviewSettings, secret
from harvester.logs import register_secret_variable

log = logging.getLogger(__name__)

SESSION_COOKIE = "harvester_session"
LOGIN_CSRF_COOKIE = "harvester_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return an Argon2id hash with the argon2-cffi default parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Return why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password is shorter than {MIN_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "the password is blank"
    return None


def password_fingerprint(password_hash: str) -> str:
    """Return a short digest of a password hash, stored in sessions to detect password changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def resolve_secret_key(settings: ReviewSettings) -> str:
    """Read the session signing key from its environment variable, or make one for this process."""
    variable = settings.secret_key_env
    register_secret_variable(variable)
    if os.environ.get(variable):
        return secret(variable, "key that signs review sessions")
    log.warning(
        "environment variable %s is not set: using a random session key, so curators must log in "
        "again after every restart",
        variable,
    )
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SessionData:
    """The contents of a valid session cookie."""

    curator_id: int
    csrf_token: str
    fingerprint: str


class SessionCodec:
    """Signs and checks session cookies and login-form CSRF cookies."""

    def __init__(self, secret_key: str, max_age_seconds: float) -> None:
        self.max_age_seconds = max_age_seconds
        self._sessions = URLSafeTimedSerializer(
            secret_key, salt="harvester.review.session"
        )
        self._login = URLSafeTimedSerializer(
            secret_key, salt="harvester.review.login-csrf"
        )

    def issue(self, curator_id: int, password_hash: str) -> tuple[str, SessionData]:
        data = SessionData(
            curator_id, secrets.token_urlsafe(32), password_fingerprint(password_hash)
        )
        token = self._sessions.dumps(
            [data.curator_id, data.csrf_token, data.fingerprint]
        )
        return token, data

    def load(self, token: str | None) -> SessionData | None:
        """Return the session in ``token``, or None when it is missing, forged or expired."""
        if not token:
            return None
        try:
            curator_id, csrf_token, fingerprint = self._sessions.loads(
                token, max_age=self.max_age_seconds
            )
        except SignatureExpired:
            return None
        except (BadSignature, ValueError, TypeError):
            log.info("rejected a session cookie with an invalid signature or shape")
            return None
        return SessionData(int(curator_id), str(csrf_token), str(fingerprint))

    def issue_login_token(self) -> str:
        return self._login.dumps(secrets.token_urlsafe(16))

    def check_login_token(self, cookie: str | None, submitted: str | None) -> bool:
        """Return whether the login form's token matches its signed cookie (double submit)."""
        if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
            return False
        try:
            self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return True


def tokens_equal(expected: str, submitted: str | None) -> bool:
    return submitted is not None and secrets.compare_digest(
        expected.encode(), submitted.encode()
    )


class LoginThrottle:
    """Rejects logins for an address after too many failures within a time window.

    The counts live in this process only, so a restart resets them.
    """

    def __init__(self, max_failures: int = 5, window_seconds: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, email: str) -> bool:
        with self._lock:
            recent = self._recent(email)
            return len(recent) >= self.max_failures

    def record_failure(self, email: str) -> None:
        with self._lock:
            self._recent(email).append(time.monotonic())

    def clear(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email, None)

    def _recent(self, email: str) -> deque[float]:
        recent = self._failures.setdefault(email, deque())
        cutoff = time.monotonic() - self.window_seconds
        while recent and recent[0] < cutoff:
            recent.popleft()
        return recent
