"""Errors raised by harvester.

HarvesterError is the base. The CLI turns a ConfigError or UsageError into exit
code 2 and any other HarvesterError into exit code 1.

    HarvesterError
    ├── ConfigError        config.yaml is invalid or a required variable is missing
    ├── UsageError         a command was called with values that cannot work
    ├── SourceError        a source failed; carries the source name
    │   ├── TransientSourceError   worth retrying: timeouts, resets, 5xx, IMAP BYE
    │   ├── PermanentSourceError   needs a person: bad password, 401, missing folder
    │   └── RateLimited            the X API returned 429; carries the reset time
    └── ItemError          one raw item could not be read; carries its id
"""

from __future__ import annotations

from datetime import datetime


class HarvesterError(Exception):
    """Base class of every error harvester raises on purpose."""


class ConfigError(HarvesterError):
    """The configuration is invalid; the message names the key."""


class UsageError(HarvesterError):
    """A command was given options that cannot work together."""


class SourceError(HarvesterError):
    """A source failed as a whole."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source


class TransientSourceError(SourceError):
    """A failure that may pass: the next run retries it."""


class PermanentSourceError(SourceError):
    """A failure that needs a change of config or credentials before it can pass."""


class RateLimited(SourceError):
    """The X API returned 429, so the run ends and resumes after ``reset_at``."""

    def __init__(self, source: str, reset_at: datetime | None) -> None:
        when = reset_at.isoformat() if reset_at else "an unknown time"
        super().__init__(source, f"rate limited by the X API until {when}; the next run resumes from the saved page")
        self.reset_at = reset_at


class ItemError(HarvesterError):
    """One raw item could not be read; other items go on."""

    def __init__(self, item: str, message: str) -> None:
        super().__init__(f"{item}: {message}")
        self.item = item
