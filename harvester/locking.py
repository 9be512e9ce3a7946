"""One scheduler per database.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection
kept open for the scheduler's lifetime. The server drops it when that connection
ends, including when the process is killed.
SQLite: an exclusive ``flock`` on ``<database file>.scheduler.lock``. The kernel drops
it when the process exits, however it exits.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import IO, Self

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from harvester.errors import HarvesterError
from store.db import Database

log = logging.getLogger(__name__)

# Any fixed 64-bit key works, because advisory locks are scoped to one database.
ADVISORY_LOCK_KEY = 0x68617276
# NOTE: attempts spread over about one second, so a `harvester status` probing the
# SQLite lock at the same moment does not turn a scheduler away.
ACQUIRE_ATTEMPTS = 5
ACQUIRE_PAUSE_SECONDS = 0.2


class SchedulerAlreadyRunning(HarvesterError):
    """Another scheduler holds the lock of this database."""


def lock_file_path(database: str) -> Path:
    return Path(f"{database}.scheduler.lock")


def _sqlite_file(db: Database) -> str | None:
    database = db.engine.url.database
    if not database or database == ":memory:":
        return None
    return database


class SchedulerLock:
    """The lock a scheduler holds on its database while it runs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._file: IO[str] | None = None
        self._connection: Connection | None = None

    def acquire(self) -> None:
        """Take the lock, or raise SchedulerAlreadyRunning when another process holds it."""
        if self.db.engine.dialect.name == "postgresql":
            self._acquire_advisory_lock()
        elif self.db.engine.dialect.name == "sqlite":
            self._acquire_file_lock()
        else:
            raise HarvesterError(
                f"no scheduler lock for database type {self.db.engine.dialect.name}"
            )

    def _acquire_advisory_lock(self) -> None:
        connection = self.db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
        for attempt in range(ACQUIRE_ATTEMPTS):
            if connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ):
                # NOTE: nothing checks this connection later. If the server restarts or
                # ends it (idle_session_timeout), the lock is gone while the scheduler runs on.
                self._connection = connection
                log.info(
                    "scheduler lock taken: PostgreSQL advisory lock %s",
                    ADVISORY_LOCK_KEY,
                )
                return
            if attempt + 1 < ACQUIRE_ATTEMPTS:
                time.sleep(ACQUIRE_PAUSE_SECONDS)
        connection.close()
        raise SchedulerAlreadyRunning(
            f"another scheduler is already running on database {self.db.engine.url.render_as_string()}; "
            "stop it first, because two schedulers would harvest every source twice"
        )

    def _acquire_file_lock(self) -> None:
        database = _sqlite_file(self.db)
        if database is None:
            log.debug(
                "in-memory SQLite database: no other process can share it, so no scheduler lock"
            )
            return
        path = lock_file_path(database)
        # The file stays open for as long as the lock is held, so no context manager.
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115
        for attempt in range(ACQUIRE_ATTEMPTS):
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if attempt + 1 < ACQUIRE_ATTEMPTS:
                    time.sleep(ACQUIRE_PAUSE_SECONDS)
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._file = handle
            log.info("scheduler lock taken: %s", path)
            return
        holder = _read_pid(path)
        handle.close()
        raise SchedulerAlreadyRunning(
            f"another scheduler{holder} is already running on database {database} (lock file {path}); "
            "stop it first, because two schedulers would harvest every source twice"
        )

    def release(self) -> None:
        """Give the lock up; safe to call when it is not held."""
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                self._connection.close()
            except (
                SQLAlchemyError
            ) as error:  # the server drops the lock with the connection anyway
                log.warning(
                    "could not release the scheduler advisory lock cleanly: %s", error
                )
                self._connection.invalidate()
            self._connection = None
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def scheduler_running(db: Database) -> bool | None:
    """Tell whether a scheduler holds the lock of ``db``; None when it cannot be known."""
    if db.engine.dialect.name == "postgresql":
        query = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = 0 AND objid = :key AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        with db.engine.connect() as connection:
            return bool(connection.scalar(query, {"key": ADVISORY_LOCK_KEY}))

    database = _sqlite_file(db) if db.engine.dialect.name == "sqlite" else None
    if database is None:
        return None
    path = lock_file_path(database)
    if not path.exists():
        return False
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
