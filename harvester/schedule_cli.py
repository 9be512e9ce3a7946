"""Commands ``harvester schedule``, ``harvester runs`` and ``harvester status``."""

from __future__ import annotations

import json
import re
import os
import sys
from datetime import UTC, datetime
from typing import Any

import click

from harvester.app import App, pass_app
from harvester.errors import HarvesterError, UsageError
from harvester.locking import scheduler_running
from harvester.logs import MASK, redact
from harvester.schedules import next_run_time, source_schedule
from store import queries, runs
from store.models import HarvestRun

# Checkpoint keys whose values are hidden in `harvester status`, whatever the source.
_SECRET_KEY = re.compile(
    r"password|secret|bearer|authorization|api_?key|access_token|credential",
    re.IGNORECASE,
)


def _iso(value: datetime | None) -> str | None:
    return queries.iso_utc(value)


def _short(iso: str | None) -> str:
    """Shorten an ISO time to ``YYYY-MM-DD HH:MM:SS`` (UTC) for tables."""
    return iso[:19].replace("T", " ") if iso else "-"


def run_to_dict(run: HarvestRun, newest_id: int | None = None) -> dict[str, Any]:
    """Return a run as the JSON object printed by ``harvester runs --json``."""
    return {
        "id": run.id,
        "source": run.source,
        "start": _iso(run.started_at),
        "finish": _iso(run.finished_at),
        "status": runs.display_status(run, newest_id),
        "trigger": run.trigger,
        "fetched": run.fetched,
        "new": run.new,
        "duplicates": run.duplicates,
        "quarantined": run.quarantined,
        "errors": run.errors,
        "error": redact(run.error) if run.error else None,
    }


def hide_secrets(value: Any) -> Any:
    """Return a copy of a checkpoint with values under secret-looking keys masked."""
    if isinstance(value, dict):
        return {
            key: MASK if _SECRET_KEY.search(str(key)) else hide_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hide_secrets(item) for item in value]
    return value


@click.command("schedule")
@pass_app
def schedule_command(app: App) -> None:
    """Harvest every enabled source on its schedule until stopped with SIGTERM or Ctrl-C."""
    import scheduler

    sources = ", ".join(app.config.enabled_sources()) or "none"
    click.echo(f"Scheduler starting for sources: {sources} (stop with Ctrl-C or SIGTERM; add -v for a line per run)", err=True)
    sys.exit(scheduler.run(app))


@click.command("runs")
@click.option("--source", help="Only runs of this source.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON array instead of a table."
)
@pass_app
def runs_command(app: App, source: str | None, limit: int, as_json: bool) -> None:
    """List recent harvest runs, newest first."""
    with app.db.read() as session:
        newest = runs.newest_run_ids(session)
        rows = [
            run_to_dict(run, newest.get(run.source))
            for run in runs.recent_runs(session, source, limit)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(
            "No runs yet. Start `harvester schedule` or run `harvester run` once."
        )
        return
    click.echo(
        f"{'id':>5} {'source':16} {'start (UTC)':19} {'finish (UTC)':19} {'status':12} "
        f"{'fetched':>7} {'new':>5} {'dup':>5} {'quar':>5}  error"
    )
    for row in rows:
        click.echo(
            f"{row['id']:>5} {row['source'][:16]:16} {_short(row['start']):19} {_short(row['finish']):19} "
            f"{row['status']:12} {row['fetched']:>7} {row['new']:>5} {row['duplicates']:>5} "
            f"{row['quarantined']:>5}  {row['error'] or ''}"
        )


def source_status(
    app: App, name: str, running: bool | None, now: datetime
) -> dict[str, Any]:
    """Collect what ``harvester status`` shows for one configured source."""
    settings = app.config.sources[name]
    # Read sessions expire their objects when they close, so copy the values out inside.
    with app.db.read() as session:
        newest = runs.newest_run_ids(session).get(name)
        last = runs.last_run(session, name)
        last_run = run_to_dict(last, newest) if last else None
        last_started = last.started_at if last else None
        failures = runs.consecutive_failures(session, name)
        alert = runs.last_alert(session, name)
        last_alert = (
            {"kind": alert.kind, "sent": _iso(alert.sent_at)} if alert else None
        )
        checkpoint = queries.load_checkpoint(session, name)

    try:
        schedule = source_schedule(app.config, name)
        description = schedule.description
        next_run = next_run_time(schedule.trigger, last_started, now)
    except HarvesterError as error:
        description, next_run = f"invalid schedule: {error}", None

    if not settings.enabled:
        health = "disabled"
    elif last_run is None:
        health = "never run"
    elif failures:
        health = "failing"
    else:
        health = "ok"
    return {
        "source": name,
        "type": settings.type,
        "health": health,
        "schedule": description,
        "last_run": last_run,
        "next_run": _iso(next_run) if settings.enabled and running else None,
        "consecutive_failures": failures,
        "last_alert": last_alert,
        "checkpoint": json.loads(redact(json.dumps(hide_secrets(checkpoint))))
        if checkpoint
        else None,
        "problems": missing_secrets(settings) if settings.enabled else [],
    }


def missing_secrets(settings: Any) -> list[str]:
    """Return a message for each secret variable the source needs that is not set."""
    problems = []
    for key in ("password_env", "bearer_token_env"):
        variable = getattr(settings, key, None)
        if variable and not os.environ.get(variable):
            problems.append(f"environment variable {variable} ({key}) is not set in this shell")
    return problems


@click.command("status")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON object instead of text."
)
@pass_app
def status_command(app: App, as_json: bool) -> None:
    """Show each source's last run, next run, failures in a row and checkpoint."""
    if not app.config.sources:
        raise UsageError("no sources in the config: add one under 'sources'")
    running = scheduler_running(app.db)
    now = datetime.now(UTC)
    sources = [source_status(app, name, running, now) for name in app.config.sources]
    if as_json:
        click.echo(
            json.dumps(
                {"scheduler_running": running, "sources": sources},
                ensure_ascii=False,
                indent=2,
            )
        )
        return

    if running is None:
        click.echo("Scheduler: unknown (in-memory database)")
    else:
        click.echo(
            "Scheduler: running"
            if running
            else "Scheduler: not running (start it with `harvester schedule`)"
        )
    for entry in sources:
        click.echo("")
        _echo_source(entry, running)


def _echo_source(entry: dict[str, Any], running: bool | None) -> None:
    click.echo(
        f"{entry['source']} ({entry['type']}, {entry['schedule']}): {entry['health'].upper()}"
    )
    last = entry["last_run"]
    if last is None:
        click.echo("  last run:   none")
    else:
        counts = (
            f"fetched {last['fetched']}, new {last['new']}, duplicates {last['duplicates']}, "
            f"quarantined {last['quarantined']}"
        )
        click.echo(
            f"  last run:   #{last['id']} {_short(last['start'])} UTC, {last['status']}: {counts}"
        )
        if last["error"]:
            click.echo(f"  error:      {last['error']}")
    if entry["next_run"]:
        click.echo(f"  next run:   {_short(entry['next_run'])} UTC (estimated)")
    elif entry["health"] != "disabled":
        click.echo(
            "  next run:   none while no scheduler is running"
            if running is False
            else "  next run:   unknown"
        )
    click.echo(f"  failures:   {entry['consecutive_failures']} in a row")
    if entry["last_alert"]:
        click.echo(
            f"  last alert: {entry['last_alert']['kind']} mail at {_short(entry['last_alert']['sent'])} UTC"
        )
    checkpoint = entry["checkpoint"]
    click.echo(
        f"  checkpoint: {json.dumps(checkpoint, sort_keys=True) if checkpoint else 'none'}"
    )
    for problem in entry["problems"]:
        click.echo(f"  warning:    {problem}")


def register(group: click.Group) -> None:
    group.add_command(schedule_command)
    group.add_command(runs_command)
    group.add_command(status_command)
