"""Read the run history: recent runs, the last run of a source, failures in a row, alerts.

A run row is written by the pipeline with status ``running`` and finished with
``ok``, ``stopped``, ``rate_limited`` or ``failed``. A row left at ``running`` after
a later run started belongs to a process that was killed. Such a row counts neither
as a failure nor as a success.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Alert, HarvestRun

FAILED = "failed"
RUNNING = "running"
INTERRUPTED = "interrupted"


def recent_runs(
    session: Session, source: str | None = None, limit: int = 20
) -> list[HarvestRun]:
    """Return the newest runs first, of every source or only of ``source``."""
    query = (
        select(HarvestRun)
        .order_by(HarvestRun.started_at.desc(), HarvestRun.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(HarvestRun.source == source)
    return list(session.scalars(query))


def last_run(session: Session, source: str) -> HarvestRun | None:
    runs = recent_runs(session, source, limit=1)
    return runs[0] if runs else None


def last_started(session: Session, source: str) -> datetime | None:
    """Return when the newest run of ``source`` started, whatever its result."""
    return session.scalar(
        select(func.max(HarvestRun.started_at)).where(HarvestRun.source == source)
    )


def last_finished(session: Session, source: str) -> HarvestRun | None:
    """Return the newest run of ``source`` that recorded its end."""
    query = (
        select(HarvestRun)
        .where(HarvestRun.source == source, HarvestRun.status != RUNNING)
        .order_by(HarvestRun.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def consecutive_failures(session: Session, source: str) -> int:
    """Count the failed runs of ``source`` since its last finished run that did not fail."""
    last_good = session.scalar(
        select(func.max(HarvestRun.id)).where(
            HarvestRun.source == source, HarvestRun.status.not_in((FAILED, RUNNING))
        )
    )
    query = select(func.count()).where(
        HarvestRun.source == source, HarvestRun.status == FAILED
    )
    if last_good is not None:
        query = query.where(HarvestRun.id > last_good)
    return int(session.scalar(query) or 0)


def display_status(run: HarvestRun, newest_id: int | None) -> str:
    """Return the run's status, or ``interrupted`` for an unfinished run that a newer run followed."""
    if run.status == RUNNING and newest_id is not None and run.id < newest_id:
        return INTERRUPTED
    return run.status


def newest_run_ids(session: Session) -> dict[str, int]:
    """Return the id of the newest run of each source."""
    rows = session.execute(
        select(HarvestRun.source, func.max(HarvestRun.id)).group_by(HarvestRun.source)
    )
    return {source: run_id for source, run_id in rows}


def last_alert(session: Session, source: str) -> Alert | None:
    query = (
        select(Alert).where(Alert.source == source).order_by(Alert.id.desc()).limit(1)
    )
    return session.scalar(query)
