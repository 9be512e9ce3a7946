"""Numbers behind the dashboard: stories per week, top tags, queue size over time.

Weeks start on Monday in UTC. Grouping happens in SQL, so the cost grows with the
number of weeks and sources shown, not with what Python has to hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import AuditEvent, Person, Story, TagRow, Training

WEEKS_SHOWN = 26
TOP_COUNT = 10
PUBLIC_STATUSES = ("approved", "published")
DECISION_ACTIONS = ("approve", "reject", "needs_consent")


@dataclass(frozen=True)
class DashboardData:
    weeks: list[str]
    stories_by_source: dict[str, list[int]]
    top_people: list[tuple[str, int]]
    top_training: list[tuple[str, int]]
    queue_size: list[tuple[str, int]]


def week_start(session: Session, column: Any) -> Any:
    """Return a SQL expression for the Monday (YYYY-MM-DD, UTC) of the week of ``column``."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite stores UTC times as "YYYY-MM-DD HH:MM:SS.ffffff"; "weekday 0" moves to
        # the next Sunday (or stays on one), and six days back is that week's Monday.
        return func.date(column, "weekday 0", "-6 days")
    return func.to_char(
        func.date_trunc("week", func.timezone("UTC", column)), "YYYY-MM-DD"
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_labels(today: date, count: int) -> list[str]:
    last = _monday(today)
    return [
        (last - timedelta(weeks=count - 1 - index)).isoformat()
        for index in range(count)
    ]


def stories_per_week(session: Session, weeks: list[str]) -> dict[str, list[int]]:
    start = datetime.fromisoformat(weeks[0]).replace(tzinfo=UTC)
    week = week_start(session, Story.created_at)
    rows = session.execute(
        select(week, Story.source, func.count())
        .where(Story.created_at >= start, Story.status != "duplicate")
        .group_by(week, Story.source)
    ).all()
    index = {label: position for position, label in enumerate(weeks)}
    series: dict[str, list[int]] = {}
    for label, source, count in rows:
        if label in index:
            series.setdefault(source, [0] * len(weeks))[index[label]] = count
    return dict(sorted(series.items()))


def top_tags(
    session: Session, kind: str, limit: int = TOP_COUNT
) -> list[tuple[str, int]]:
    """Return the most tagged people or training in approved and published stories.

    Pupils marked by a curator are left out of the people list.
    """
    if kind == "person":
        label = func.coalesce(Person.name, TagRow.name, TagRow.text)
        query = select(label, func.count(func.distinct(TagRow.story_id))).outerjoin(
            Person, Person.id == TagRow.person_id
        )
        query = query.where(TagRow.pupil.is_(False))
    else:
        label = func.coalesce(Training.name, TagRow.name, TagRow.text)
        query = select(label, func.count(func.distinct(TagRow.story_id))).outerjoin(
            Training, Training.id == TagRow.training_id
        )
    query = (
        query.join(Story, Story.id == TagRow.story_id)
        .where(TagRow.kind == kind, Story.status.in_(PUBLIC_STATUSES))
        .group_by(label)
        .order_by(func.count(func.distinct(TagRow.story_id)).desc(), label)
        .limit(limit)
    )
    return [(str(name), int(count)) for name, count in session.execute(query)]


def short_training_name(name: str) -> str:
    """Shorten the long NPQ course names so chart labels stay apart."""
    return name.replace("National Professional Qualification", "NPQ")


def queue_size_per_week(session: Session, weeks: list[str]) -> list[tuple[str, int]]:
    """Return the number of stories waiting for a decision at the end of each week.

    A story joins the queue when harvested and leaves at its first decision. A story
    decided without an audit event leaves when harvested.
    """
    # NOTE: a story reopened after a decision counts as waiting since its harvest, so
    # weeks before the reopening show it in the queue too.
    arrival_week = week_start(session, Story.harvested_at)
    arrivals = dict(
        session.execute(
            select(arrival_week, func.count())
            .where(Story.status != "duplicate")
            .group_by(arrival_week)
        ).all()
    )
    first_decision = (
        select(AuditEvent.story_id, func.min(AuditEvent.created_at).label("decided_at"))
        .where(AuditEvent.action.in_(DECISION_ACTIONS))
        .group_by(AuditEvent.story_id)
        .subquery()
    )
    departure_week = week_start(
        session, func.coalesce(first_decision.c.decided_at, Story.harvested_at)
    )
    departures = dict(
        session.execute(
            select(departure_week, func.count())
            .select_from(Story)
            .outerjoin(first_decision, first_decision.c.story_id == Story.id)
            .where(Story.status.notin_(("pending", "duplicate")))
            .group_by(departure_week)
        ).all()
    )

    earlier_arrivals = sum(
        count for label, count in arrivals.items() if label and label < weeks[0]
    )
    earlier_departures = sum(
        count for label, count in departures.items() if label and label < weeks[0]
    )
    waiting = earlier_arrivals - earlier_departures
    points = []
    for label in weeks:
        waiting += arrivals.get(label, 0) - departures.get(label, 0)
        points.append((label, waiting))
    return points


def load_dashboard(
    session: Session, today: date | None = None, weeks_shown: int = WEEKS_SHOWN
) -> DashboardData:
    weeks = _week_labels(today or datetime.now(UTC).date(), weeks_shown)
    return DashboardData(
        weeks=weeks,
        stories_by_source=stories_per_week(session, weeks),
        top_people=top_tags(session, "person"),
        top_training=[(short_training_name(name), count) for name, count in top_tags(session, "training")],
        queue_size=queue_size_per_week(session, weeks),
    )
