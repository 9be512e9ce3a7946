"""Turn the ``schedule`` settings of a source into APScheduler 3 triggers.

A schedule is either ``every: 15m`` (an interval) or ``cron: "0 7 * * *"`` with a
timezone. Two differences between APScheduler 3 and standard cron are handled here:

* APScheduler 3 numbers weekdays from Monday = 0, while crontab uses Sunday = 0
  (see the ``CronTrigger.from_crontab`` docstring in APScheduler 3.11). The
  day-of-week field is therefore expanded to weekday names before it is handed over.
* When clocks go back, APScheduler 3.11 fires a fixed-time cron job in the repeated
  hour twice. ``DaylightSafeCronTrigger`` skips the second one, as Vixie cron does.

Everything here is a pure function of values, so tests can pass their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.cron.expressions import AllExpression
from apscheduler.triggers.interval import IntervalTrigger

from harvester.config import Config, Schedule, parse_duration
from harvester.errors import ConfigError

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONDAY_FIRST = (1, 2, 3, 4, 5, 6, 0)
_HOUR_FIELD = "hour"


@dataclass(frozen=True)
class SourceSchedule:
    """The schedule of one job: its trigger and a short description for people."""

    trigger: BaseTrigger
    description: str


class DaylightSafeCronTrigger(CronTrigger):
    """A cron trigger that fires once at a fixed wall-clock time on the day clocks go back.

    Expressions whose hour field contains ``*`` keep firing in both copies of the
    repeated hour, because they describe elapsed time rather than a time of day.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire_time = super().get_next_fire_time(previous_fire_time, now)
        if self._has_fixed_hours() and fire_time is not None:
            repeat = _repeated_span(fire_time, self.timezone)
            if repeat:
                # Search again from the first instant after the repeated hour. Given a
                # previous fire time inside that hour, APScheduler 3.11 returns the same
                # time again, so a step of one microsecond would loop forever.
                fire_time = super().get_next_fire_time(None, fire_time + repeat)
        if fire_time is None:
            return None
        # APScheduler 3.11 returns a time in the skipped hour as a local time that does
        # not exist, such as 01:30 with the winter offset. Converting it gives the real one.
        return fire_time.astimezone(UTC).astimezone(self.timezone)

    def _has_fixed_hours(self) -> bool:
        for field in self.fields:
            if field.name == _HOUR_FIELD:
                # RangeExpression subclasses AllExpression, so only the exact type means "*".
                return not any(
                    type(expression) is AllExpression
                    for expression in field.expressions
                )
        return False


def _repeated_span(moment: datetime, zone: tzinfo) -> timedelta | None:
    """Return how long the clocks went back, if ``moment`` is the second instant of its local wall time."""
    local = moment.astimezone(UTC).astimezone(zone)
    if local.fold != 1:
        return None
    first = local.replace(fold=0).utcoffset()
    second = local.replace(fold=1).utcoffset()
    if first is None or second is None or first <= second:
        return None
    return first - second


def load_timezone(name: str, key: str) -> ZoneInfo:
    """Return the IANA timezone ``name``, or raise ConfigError naming the config key."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{key}: unknown timezone {name!r}; use an IANA name such as Europe/London"
        ) from None


def crontab_day_of_week(field: str) -> str:
    """Translate a crontab day-of-week field (Sunday = 0 or 7) into APScheduler 3 weekday names.

    Accepts ``*``, numbers 0-7, names (``mon``), ranges (``1-5``) and steps (``*/2``,
    ``1-5/2``) joined by commas. Raises ValueError on anything else.
    """
    days: set[int] = set()
    for item in field.lower().split(","):
        days |= _expand_weekday_item(item.strip(), field)
    if len(days) == 7:
        return "*"
    return ",".join(_WEEKDAYS[day] for day in _MONDAY_FIRST if day in days)


def _expand_weekday_item(item: str, field: str) -> set[int]:
    span, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ValueError(
                f"invalid step {step_text!r} in day-of-week field {field!r}"
            )
        step = int(step_text)

    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        start_text, _, end_text = span.partition("-")
        first = _weekday_number(start_text, field)
        # Sunday is 7 at the end of a range such as 5-7, so the range stays ascending.
        last = 7 if end_text.strip() == "7" else _weekday_number(end_text, field)
        if first > last:
            raise ValueError(
                f"invalid range {span!r} in day-of-week field {field!r}: the first day must come first"
            )
    else:
        first = _weekday_number(span, field)
        last = 6 if step_text else first
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday_number(text: str, field: str) -> int:
    text = text.strip()
    if text in _WEEKDAYS:
        return _WEEKDAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    raise ValueError(
        f"invalid day {text!r} in day-of-week field {field!r}: use 0-7 (0 and 7 are Sunday) or sun-sat"
    )


def crontab_trigger(expression: str, zone: tzinfo) -> DaylightSafeCronTrigger:
    """Build a trigger from a five-field crontab expression, read the way cron(8) reads it.

    Raises ValueError when the expression is invalid. Standard cron runs a job whose
    day of month and day of week are both restricted when either matches, but
    APScheduler requires both, so such expressions are rejected.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron expression {expression!r} has {len(fields)} fields; it needs 5: minute hour day month weekday"
        )
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ValueError(
            f"cron expression {expression!r} restricts both the day of month and the day of week; "
            "restrict only one of them"
        )
    return DaylightSafeCronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(weekday),
        timezone=zone,
    )


def source_schedule(config: Config, name: str) -> SourceSchedule:
    """Return the trigger of source ``name``: its own schedule, or ``scheduler.default_every``."""
    settings = config.sources[name].schedule
    default_zone = config.scheduler.timezone
    if settings is None:
        settings = Schedule(every=config.scheduler.default_every, timezone=default_zone)
    return build_schedule(
        settings, f"sources.{name}.schedule", config.scheduler.default_every
    )


def build_schedule(settings: Schedule, key: str, default_every: str) -> SourceSchedule:
    """Build the trigger for one ``schedule`` mapping; ``key`` names it in error messages."""
    zone = load_timezone(settings.timezone, f"{key}.timezone")
    if settings.every and settings.cron:
        raise ConfigError(f"{key}: set either 'every' or 'cron', not both")

    if settings.cron:
        try:
            trigger = crontab_trigger(settings.cron, zone)
        except ValueError as error:
            raise ConfigError(f"{key}.cron: {error}") from None
        return SourceSchedule(trigger, f"cron {settings.cron} ({settings.timezone})")

    every = settings.every or default_every
    interval = parse_duration(every)
    if interval.total_seconds() < 1:
        raise ConfigError(f"{key}.every: {every!r} is too short; use at least 1s")
    return SourceSchedule(
        IntervalTrigger(seconds=int(interval.total_seconds()), timezone=zone),
        f"every {every}",
    )


def first_run_time(
    trigger: BaseTrigger, last_started: datetime | None, now: datetime
) -> datetime | None:
    """Return when a starting scheduler should first run a job, given the job's last run.

    A run missed while no scheduler was running happens at once (one run, however
    many were missed). An interval job that never ran also runs at once.
    """
    if isinstance(trigger, IntervalTrigger):
        if last_started is None:
            return now
        return max(last_started + trigger.interval, now)

    if last_started is not None:
        missed = trigger.get_next_fire_time(
            None, last_started + timedelta(microseconds=1)
        )
        if missed is not None and missed <= now:
            return now
    return trigger.get_next_fire_time(None, now)


def next_run_time(
    trigger: BaseTrigger, last_started: datetime | None, now: datetime
) -> datetime | None:
    """Estimate the next run of a job in a running scheduler, from its last run.

    An interval job runs one interval after its last start, or at once when that is
    already past. The estimate ignores the seconds a scheduler spends between firing
    a job and the run's recorded start.
    """
    if isinstance(trigger, IntervalTrigger):
        if last_started is None:
            return now
        return max(last_started + trigger.interval, now)
    return trigger.get_next_fire_time(None, now)
