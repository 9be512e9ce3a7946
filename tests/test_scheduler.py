"""The scheduler: jobs and triggers from config, daylight-saving changes, one scheduler per database, SIGTERM."""

from __future__ import annotations

import os
import signal
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

import scheduler
from harvester.errors import ConfigError
from harvester.locking import SchedulerAlreadyRunning, SchedulerLock, scheduler_running
from harvester.schedules import (
    DaylightSafeCronTrigger,
    crontab_day_of_week,
    crontab_trigger,
    first_run_time,
    source_schedule,
)
from store.db import Database
from store.models import HarvestRun, Story
from tests.conftest import ROOT, make_app

LONDON = ZoneInfo("Europe/London")


def eml_source(path: str = "mail", **extra: object) -> dict[str, object]:
    return {"type": "eml", "path": path, **extra}


def started_jobs(app):
    """Build the scheduler, start it paused in a thread, and return its jobs with defaults applied."""
    built, pools = scheduler.build_scheduler(
        app, now=datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    )
    thread = threading.Thread(target=built.start, kwargs={"paused": True}, daemon=True)
    thread.start()
    for _ in range(200):
        if built.running:
            break
        time.sleep(0.01)
    jobs = {job.id: job for job in built.get_jobs()}
    built.shutdown(wait=False)
    thread.join(timeout=10)
    for pool in pools:
        pool.shutdown(wait=True)
    return jobs


# --- jobs built from config -------------------------------------------------------


def test_jobs_one_per_enabled_source(sqlite_url, tmp_path):
    sources = {
        "every": eml_source(schedule={"every": "15m"}),
        "daily": eml_source(
            schedule={"cron": "0 7 * * 1-5", "timezone": "America/New_York"}
        ),
        "default": eml_source(),
        "off": eml_source(enabled=False),
    }
    app = make_app(
        sqlite_url,
        sources,
        base_dir=tmp_path,
        scheduler={"default_every": "1h", "misfire_grace_time": "2m"},
    )

    jobs = started_jobs(app)

    assert sorted(jobs) == ["source:daily", "source:default", "source:every"]
    every = jobs["source:every"].trigger
    assert isinstance(every, IntervalTrigger)
    assert every.interval == timedelta(minutes=15)
    default = jobs["source:default"].trigger
    assert isinstance(default, IntervalTrigger)
    assert default.interval == timedelta(hours=1)
    daily = jobs["source:daily"].trigger
    assert isinstance(daily, DaylightSafeCronTrigger)
    assert str(daily.timezone) == "America/New_York"
    fields = {field.name: str(field) for field in daily.fields}
    assert fields["hour"] == "7"
    assert fields["minute"] == "0"
    assert fields["day_of_week"] == "mon,tue,wed,thu,fri"


def test_jobs_use_job_defaults(sqlite_url, tmp_path):
    app = make_app(
        sqlite_url,
        {"archive": eml_source()},
        base_dir=tmp_path,
        scheduler={"misfire_grace_time": "90s"},
    )

    job = started_jobs(app)["source:archive"]

    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == 90
    assert job.args == ("archive",)
    assert job.func_ref == "scheduler:run_source"


def test_interval_job_catches_up_after_restart(sqlite_url, tmp_path):
    app = make_app(
        sqlite_url,
        {"archive": eml_source(schedule={"every": "15m"})},
        base_dir=tmp_path,
    )
    now = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    with app.db.write() as session:
        session.add(
            HarvestRun(
                source="archive", started_at=now - timedelta(minutes=5), status="ok"
            )
        )

    built, pools = scheduler.build_scheduler(app, now=now)
    for pool in pools:
        pool.shutdown()

    job = built.get_job("source:archive")
    assert job.next_run_time == now + timedelta(minutes=10)


def test_publish_job_when_configured(sqlite_url, tmp_path):
    publish = {"url": "http://127.0.0.1:9/api", "schedule": {"every": "1h"}}
    app = make_app(
        sqlite_url, {"archive": eml_source()}, base_dir=tmp_path, publish=publish
    )

    jobs = started_jobs(app)

    assert "publish" in jobs
    assert jobs["publish"].func_ref == "scheduler:run_publish"
    assert jobs["publish"].executor == "publish"


def test_no_publish_job_without_schedule(sqlite_url, tmp_path):
    app = make_app(
        sqlite_url,
        {"archive": eml_source()},
        base_dir=tmp_path,
        publish={"url": "http://127.0.0.1:9/api"},
    )

    assert "publish" not in started_jobs(app)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"every": "5m", "cron": "0 7 * * *"}, "not both"),
        ({"cron": "0 7 * *"}, "needs 5"),
        ({"cron": "0 7 1 * mon"}, "restrict only one"),
        ({"cron": "0 7 * * 8"}, "invalid day '8'"),
        ({"cron": "0 25 * * *"}, "sources.archive.schedule.cron"),
        (
            {"every": "15m", "timezone": "Europe/Atlantis"},
            "unknown timezone 'Europe/Atlantis'",
        ),
    ],
)
def test_invalid_schedule_names_the_key(sqlite_url, tmp_path, schedule, expected):
    app = make_app(
        sqlite_url, {"archive": eml_source(schedule=schedule)}, base_dir=tmp_path
    )

    with pytest.raises(ConfigError) as raised:
        source_schedule(app.config, "archive")

    assert expected in str(raised.value)
    assert "sources.archive.schedule" in str(raised.value)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("5-7", "fri,sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("1-5/2", "mon,wed,fri"),
        ("sat,sun", "sat,sun"),
        ("0-7", "*"),
    ],
)
def test_crontab_weekdays_start_on_sunday(field, expected):
    assert crontab_day_of_week(field) == expected


def test_crontab_weekday_range_backwards_rejected():
    with pytest.raises(ValueError, match="first day must come first"):
        crontab_day_of_week("5-1")


# --- daylight-saving changes --------------------------------------------------------


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Step the trigger through [start, end) the way the scheduler does, with a controlled clock."""
    times: list[datetime] = []
    previous = None
    now = start
    while True:
        fire_time = trigger.get_next_fire_time(previous, now)
        if fire_time is None or fire_time >= end:
            return times
        times.append(fire_time)
        previous = fire_time
        now = fire_time


def london(moment: datetime) -> datetime:
    # Through UTC, because astimezone() to the same tzinfo returns the value unchanged.
    return moment.astimezone(UTC).astimezone(LONDON)


def local_days(times: list[datetime]) -> Counter:
    return Counter(london(moment).date() for moment in times)


@pytest.mark.parametrize(
    "expression", ["0 7 * * *", "30 1 * * *", "0 1 * * *", "30 2 * * *"]
)
@pytest.mark.parametrize(
    ("first_day", "change_day"),
    [
        (datetime(2025, 3, 27), datetime(2025, 3, 30)),
        (datetime(2025, 10, 23), datetime(2025, 10, 26)),
    ],
    ids=["march", "october"],
)
def test_daily_cron_once_per_day_across_dst(expression, first_day, change_day):
    trigger = crontab_trigger(expression, LONDON)
    start = first_day.replace(tzinfo=LONDON)
    end = (first_day + timedelta(days=7)).replace(tzinfo=LONDON)

    times = fire_times(trigger, start, end)

    per_day = local_days(times)
    assert change_day.date() in per_day
    assert len(per_day) == 7
    assert set(per_day.values()) == {1}


def test_daily_cron_keeps_wall_clock_time():
    trigger = crontab_trigger("0 7 * * *", LONDON)
    start = datetime(2025, 3, 27, tzinfo=LONDON)

    times = fire_times(trigger, start, start + timedelta(days=7))

    assert {london(moment).strftime("%H:%M") for moment in times} == {"07:00"}
    utc_hours = [moment.astimezone(UTC).hour for moment in times]
    assert utc_hours[:4] == [7, 7, 7, 6]


def test_skipped_hour_runs_after_clocks_go_forward():
    trigger = crontab_trigger("30 1 * * *", LONDON)
    start = datetime(2025, 3, 30, tzinfo=LONDON)

    times = fire_times(trigger, start, start + timedelta(days=1))

    assert len(times) == 1
    assert london(times[0]).strftime("%H:%M %Z") == "02:30 BST"


def test_hourly_cron_fires_in_both_repeated_hours():
    trigger = crontab_trigger("0 * * * *", LONDON)
    start = datetime(2025, 10, 26, tzinfo=LONDON)

    times = fire_times(trigger, start, datetime(2025, 10, 27, tzinfo=LONDON))

    assert len(times) == 25


def test_cron_missed_while_stopped_runs_at_start():
    trigger = crontab_trigger("0 7 * * *", LONDON)
    now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

    missed = first_run_time(trigger, datetime(2025, 6, 1, 6, 0, tzinfo=UTC), now)
    on_time = first_run_time(trigger, datetime(2025, 6, 2, 6, 0, 1, tzinfo=UTC), now)
    never = first_run_time(trigger, None, now)

    assert missed == now
    assert on_time == datetime(2025, 6, 3, 6, 0, tzinfo=UTC)
    assert never == datetime(2025, 6, 3, 6, 0, tzinfo=UTC)


def test_interval_first_run_time():
    trigger = IntervalTrigger(minutes=15, timezone=LONDON)
    now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

    assert first_run_time(trigger, None, now) == now
    assert first_run_time(trigger, now - timedelta(hours=2), now) == now
    assert first_run_time(trigger, now - timedelta(minutes=5), now) == now + timedelta(
        minutes=10
    )


# --- one scheduler per database -----------------------------------------------------


def test_second_lock_refused(database_url):
    first_db = Database(database_url)
    second_db = Database(database_url)
    try:
        with SchedulerLock(first_db):
            assert scheduler_running(second_db) is True
            with pytest.raises(
                SchedulerAlreadyRunning, match="another scheduler.* is already running"
            ):
                SchedulerLock(second_db).acquire()
        assert scheduler_running(second_db) is False
        with SchedulerLock(second_db):
            assert scheduler_running(first_db) is True
    finally:
        first_db.dispose()
        second_db.dispose()


def harvester_command(config: Path, *arguments: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from harvester.cli import main; main()",
        "--config",
        str(config),
        *arguments,
    ]


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def write_mails(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / f"{number:05}.eml").write_text(
            f"From: Teacher {number} <teacher{number}@example.org>\n"
            "To: stories@example.org\n"
            f"Subject: Who inspired me, part {number}\n"
            f"Date: Mon, 2 Jun 2025 10:{number % 60:02}:00 +0000\n"
            f"Message-ID: <story-{number}@example.org>\n"
            "\n"
            f"Mrs Patel taught me to love fractions in year {number % 6 + 1}. Story number {number}.\n",
            encoding="utf-8",
        )


def write_config(
    tmp_path: Path, database: str, mails: int = 3, batch_size: int = 5
) -> Path:
    write_mails(tmp_path / "mail", mails)
    config = {
        "database": database,
        "sources": {
            "archive": {
                "type": "eml",
                "path": "mail",
                "batch_size": batch_size,
                "schedule": {"every": "1h"},
            }
        },
        "scheduler": {"misfire_grace_time": "1m"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def wait_for(condition, description: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {description}")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_second_scheduler_exits_with_message(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'stories.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    config = write_config(tmp_path, url)
    first = subprocess.Popen(
        harvester_command(config, "-v", "schedule"),
        env=subprocess_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        db = Database(url)
        wait_for(lambda: scheduler_running(db), "the first scheduler to take its lock")
        db.dispose()

        second = subprocess.run(
            harvester_command(config, "schedule"),
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

        assert second.returncode == 1
        assert "another scheduler" in second.stderr
        assert "is already running" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, first_log = first.communicate(timeout=120)
    assert first.returncode == 0, first_log


# --- SIGTERM ------------------------------------------------------------------------


def test_sigterm_finishes_batch_and_exits_zero(tmp_path):
    total = 400
    url = f"sqlite:///{tmp_path / 'stories.db'}"
    config = write_config(tmp_path, url, mails=total, batch_size=2)
    db = Database(url)

    def running_with_batches() -> bool:
        with db.read() as session:
            return bool(
                session.scalar(
                    select(func.count()).where(
                        HarvestRun.status == "running", HarvestRun.new > 0
                    )
                )
            )

    process = subprocess.Popen(
        harvester_command(config, "-v", "schedule"),
        env=subprocess_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(running_with_batches, "the first committed batch")
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, log
    assert "SIGTERM received" in log
    assert "scheduler stopped" in log
    with db.read() as session:
        run = session.scalars(select(HarvestRun)).one()
        stories = session.scalar(select(func.count()).select_from(Story))
        assert run.status == "stopped"
        assert run.finished_at is not None
        assert 0 < run.fetched < total
        assert stories == run.new
    db.dispose()


def test_default_config_harvests_samples_then_stops(tmp_path):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    config = tmp_path / "config.yaml"
    db = Database(f"sqlite:///{tmp_path / 'harvester.db'}")

    def sample_sources_ran() -> bool:
        with db.read() as session:
            finished = session.scalars(select(HarvestRun.source).where(HarvestRun.finished_at.is_not(None)))
            return {"sample-posts", "sample-sheet", "sample-inbox"} <= set(finished)

    process = subprocess.Popen(
        harvester_command(config, "-v", "schedule"), env=subprocess_env(), stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(sample_sources_ran, "a run of each sample source", timeout=180)
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, log
    with db.read() as session:
        runs = list(session.scalars(select(HarvestRun)))
        stories = session.scalar(select(func.count()).select_from(Story))
    assert all(run.status == "ok" for run in runs)
    assert stories > 0
    db.dispose()


def test_status_warns_missing_secret(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from harvester.cli import cli

    monkeypatch.delenv("HARVESTER_TEST_NO_PASSWORD", raising=False)
    config = tmp_path / "config.yaml"
    sources = {
        "inbox": {"type": "imap", "host": "127.0.0.1", "username": "u", "password_env": "HARVESTER_TEST_NO_PASSWORD"}
    }
    config.write_text(yaml.safe_dump({"database": f"sqlite:///{tmp_path / 's.db'}", "sources": sources}))

    result = CliRunner().invoke(cli, ["--config", str(config), "status"])

    assert result.exit_code == 0
    assert "HARVESTER_TEST_NO_PASSWORD (password_env) is not set" in result.output
