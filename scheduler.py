"""APScheduler 3 wiring for ``harvester schedule``: one job per enabled source.

A job is a module-level function whose only argument is the source name, referenced
by its import path, so a persistent job store could store it without pickling live
objects. The job finds the ``App`` through ``use_app()`` or, in a fresh process,
through the config path in the ``HARVESTER_CONFIG`` environment variable.

SIGTERM and SIGINT set ``STOP``: the running harvest ends after its current batch is
committed, no new run starts, and ``run()`` returns 0.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from harvester.alerts import check_alerts
from harvester.app import App
from harvester.config import parse_duration
from harvester.errors import UsageError
from harvester.locking import SchedulerLock
from harvester.schedules import (
    build_schedule,
    first_run_time,
    load_timezone,
    source_schedule,
)
from store import runs

log = logging.getLogger("harvester.scheduler")

CONFIG_ENV = "HARVESTER_CONFIG"
PUBLISH_JOB_ID = "publish"
PUBLISH_MODULE = "harvester.export.publish"

# Set by SIGTERM or SIGINT; harvests check it between batches.
STOP = threading.Event()

_app: App | None = None
_app_lock = threading.Lock()


def use_app(app: App | None) -> None:
    """Make the jobs of this process use ``app`` (None: load it from ``HARVESTER_CONFIG``)."""
    global _app
    with _app_lock:
        _app = app


def current_app() -> App:
    global _app
    with _app_lock:
        if _app is None:
            _app = App(os.environ.get(CONFIG_ENV, "config.yaml"))
        return _app


class _JobPool(BasePoolExecutor):
    """An APScheduler executor over a thread pool that ``run()`` keeps, so it can wait for it."""

    def __init__(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        super().__init__(pool)


def run_source(source_name: str) -> None:
    """Harvest one source, then send an alert mail if its failures call for one."""
    if STOP.is_set():
        log.info("source %s: scheduler is stopping, run skipped", source_name)
        return
    from harvester.pipeline import harvest

    app = current_app()
    try:
        harvest(app, source_name, trigger="schedule", stop=STOP)
    except Exception:  # one broken run must not end the scheduler; the next run retries
        log.exception("source %s: run ended with an unexpected error", source_name)
    try:
        check_alerts(app, source_name)
    except Exception:
        log.exception("source %s: checking alerts failed", source_name)


def run_publish() -> None:
    """Send approved stories to the community site, when the export module is installed."""
    if STOP.is_set():
        return
    if importlib.util.find_spec(PUBLISH_MODULE) is None:
        log.warning(
            "publish.schedule is set but %s is not installed, so nothing is published",
            PUBLISH_MODULE,
        )
        return
    from harvester.export.publish import publish_pending  # type: ignore[import-not-found]

    try:
        publish_pending(current_app())
    except Exception:
        log.exception("scheduled publishing failed")


def build_scheduler(
    app: App, now: datetime | None = None
) -> tuple[BlockingScheduler, list[concurrent.futures.ThreadPoolExecutor]]:
    """Create the scheduler with one job per enabled source, and the publish job if configured.

    Returns the scheduler and the thread pools its jobs run in. Harvest jobs share
    one worker thread, because every run uses the same spaCy pipeline and SQLite
    takes one writer at a time.
    """
    config = app.config
    now = now or datetime.now(UTC)
    grace = int(parse_duration(config.scheduler.misfire_grace_time).total_seconds())
    harvest_pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="harvest"
    )
    publish_pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="publish"
    )
    scheduler = BlockingScheduler(
        timezone=load_timezone(config.scheduler.timezone, "scheduler.timezone"),
        executors={
            "default": _JobPool(harvest_pool),
            "publish": _JobPool(publish_pool),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": grace,
        },
    )

    with app.db.read() as session:
        started = {
            name: runs.last_started(session, name) for name in config.enabled_sources()
        }
    for name in config.enabled_sources():
        schedule = source_schedule(config, name)
        first = first_run_time(schedule.trigger, started[name], now)
        scheduler.add_job(
            f"{__name__}:run_source",
            trigger=schedule.trigger,
            args=[name],
            id=f"source:{name}",
            name=f"harvest {name}",
            next_run_time=first,
            replace_existing=True,
        )
        when = first.isoformat() if first else "never"
        log.info(
            "source %s scheduled %s, first run at %s", name, schedule.description, when
        )

    if config.publish is not None and config.publish.schedule is not None:
        publish = build_schedule(
            config.publish.schedule, "publish.schedule", config.scheduler.default_every
        )
        scheduler.add_job(
            f"{__name__}:run_publish",
            trigger=publish.trigger,
            id=PUBLISH_JOB_ID,
            name="publish",
            executor="publish",
            replace_existing=True,
        )
    return scheduler, [harvest_pool, publish_pool]


def run(app: App) -> int:
    """Run the scheduler until SIGTERM or SIGINT; return the exit code.

    Raises SchedulerAlreadyRunning when another scheduler holds this database's lock.
    """
    if not app.config.enabled_sources():
        raise UsageError(
            "no enabled sources in the config: add one under 'sources' or set enabled: true"
        )
    use_app(app)
    STOP.clear()

    lock = SchedulerLock(app.db)
    lock.acquire()
    previous_handlers: dict[int, Any] = {}
    try:
        scheduler, pools = build_scheduler(app)

        def request_stop(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if STOP.is_set():
                log.info("%s received again; still finishing the current batch", name)
                return
            log.info("%s received: finishing the current batch, then stopping", name)
            STOP.set()
            scheduler.shutdown(wait=False)

        def install_handlers(event: SchedulerEvent) -> None:
            # Installed once the scheduler runs, so shutdown() in the handler always has a
            # running scheduler to stop. A signal before that ends the process at once,
            # which is safe because no job can have started yet.
            for number in (signal.SIGTERM, signal.SIGINT):
                previous_handlers[number] = signal.signal(number, request_stop)

        scheduler.add_listener(install_handlers, EVENT_SCHEDULER_STARTED)
        log.info("scheduler starting with %d jobs", len(scheduler.get_jobs()))
        try:
            scheduler.start()
        finally:
            for number, handler in previous_handlers.items():
                signal.signal(number, handler)
        for pool in pools:
            pool.shutdown(wait=True)
    finally:
        lock.release()
    log.info("scheduler stopped")
    return 0
