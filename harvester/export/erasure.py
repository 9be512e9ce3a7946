"""``harvester forget``: erase one person's stories and everything kept about them.

For an email address it removes the stories they sent, every raw mail whose From,
Reply-To or Sender header names the address, the quarantined items of those mails,
and the tags of the stories. People entries that only those stories mentioned go
too. Then every text, JSON and binary column of every table except ``curators`` is
searched for the address, and each remaining occurrence is replaced with
``[erased]``. For an X handle it removes their posts, raw posts, retweets by them
and of their posts, and quarantined items.

Anything that left the store gets a DELETE delivery and an erasure tombstone. The
audit events of removed stories are deleted, and one ``erasure`` event with counts
and public story ids, but without the address or handle, records that it happened.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

from sqlalchemy import (
    JSON,
    LargeBinary,
    String,
    Table,
    Text,
    cast,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from harvester.errors import UsageError
from harvester.export.items import ERASURE_ACTION, story_key
from harvester.export.privacy import EMAIL_PATTERN
from harvester.export.publish import take_back
from store.db import Database
from store.models import (
    AuditEvent,
    Base,
    Person,
    Quarantined,
    RawItemRow,
    Retweet,
    Story,
    TagRow,
)

log = logging.getLogger(__name__)

ERASED = "[erased]"
SENDER_HEADERS = ("From", "Reply-To", "Sender")
HEADER_BYTES = 65536
SCAN_BATCH = 500
# Curator logins are accounts, not harvested data: an address found there is reported.
SKIPPED_TABLES = {"curators", "alembic_version"}
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,50}$")


@dataclass
class ErasureReport:
    """How many rows of each kind an erasure removed or scrubbed."""

    stories: list[int] = field(default_factory=list)
    raw_items: int = 0
    quarantined: int = 0
    retweets: int = 0
    tags: int = 0
    people: int = 0
    audit_events: int = 0
    deletes_queued: int = 0
    scrubbed: dict[str, int] = field(default_factory=dict)
    curator_account: bool = False


def normalize_email(address: str) -> str:
    value = address.strip().lower()
    if not EMAIL_PATTERN.fullmatch(value):
        raise UsageError(
            f"invalid email address {address!r}: pass the address as name@domain"
        )
    return value


def normalize_handle(handle: str) -> str:
    value = handle.strip().lstrip("@")
    if not _HANDLE.match(value):
        raise UsageError(
            f"invalid X handle {handle!r}: use letters, digits and underscores, such as @jane_doe"
        )
    return value


def mail_senders(payload: bytes) -> set[str]:
    """Return the lower-case addresses in the From, Reply-To and Sender headers of a raw mail."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(
        payload[:HEADER_BYTES], headersonly=True
    )
    values = [
        str(value) for name in SENDER_HEADERS for value in headers.get_all(name) or []
    ]
    return {address.strip().lower() for _, address in getaddresses(values) if address}


def post_author(payload: bytes) -> str | None:
    """Return the author's handle of a raw post: v2 page, flattened twarc post or TAGS row."""
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if "tags_row" in document:
        return (document["tags_row"] or {}).get("from_user")
    post = document.get("data") or {}
    inline = post.get("author") or {}
    if inline.get("username"):
        return str(inline["username"])
    users = (document.get("includes") or {}).get("users") or []
    for user in users:
        if user.get("id") == post.get("author_id"):
            return user.get("username")
    return None


# --- finding -----------------------------------------------------------------------


def _raw_ids_matching(session: Session, kind: str, matches: Any) -> list[int]:
    """Scan raw items of one kind in batches and return the ids ``matches(payload)`` accepts."""
    found: list[int] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(RawItemRow.id, RawItemRow.payload)
            .where(RawItemRow.kind == kind, RawItemRow.id > last_id)
            .order_by(RawItemRow.id)
            .limit(SCAN_BATCH)
        ).all()
        if not rows:
            return found
        found.extend(row_id for row_id, payload in rows if matches(payload))
        last_id = rows[-1][0]


def _find_by_email(
    session: Session, address: str
) -> tuple[set[int], set[int], set[int], set[int]]:
    raw_ids = set(
        _raw_ids_matching(
            session, "email", lambda payload: address in mail_senders(payload)
        )
    )
    story_query = select(Story.id, Story.raw_item_id).where(
        (func.lower(Story.author_email) == address) | Story.raw_item_id.in_(raw_ids)
    )
    story_ids = set()
    for story_id, raw_item_id in session.execute(story_query):
        story_ids.add(story_id)
        if raw_item_id is not None:
            raw_ids.add(raw_item_id)
    quarantine_ids = set(
        session.scalars(
            select(Quarantined.id).where(
                Quarantined.raw_item_id.in_(raw_ids)
                | func.lower(Quarantined.author).contains(address)
            )
        )
    )
    return story_ids, raw_ids, quarantine_ids, set()


def _find_by_handle(
    session: Session, handle: str
) -> tuple[set[int], set[int], set[int], set[int]]:
    lowered = handle.lower()
    raw_ids = set(
        _raw_ids_matching(
            session,
            "tweet",
            lambda payload: (post_author(payload) or "").lower() == lowered,
        )
    )
    story_ids: set[int] = set()
    post_ids: set[str] = set()
    story_query = select(
        Story.id, Story.raw_item_id, Story.external_id, Story.kind
    ).where(
        (func.lower(func.ltrim(Story.author_handle, "@")) == lowered)
        | Story.raw_item_id.in_(raw_ids)
    )
    for story_id, raw_item_id, external_id, kind in session.execute(story_query):
        story_ids.add(story_id)
        if kind == "tweet":
            post_ids.add(external_id)
        if raw_item_id is not None:
            raw_ids.add(raw_item_id)

    retweet_ids = set()
    retweet_query = select(Retweet.id, Retweet.raw_item_id).where(
        (func.lower(func.ltrim(Retweet.author_handle, "@")) == lowered)
        | Retweet.original_external_id.in_(post_ids)
    )
    for retweet_id, raw_item_id in session.execute(retweet_query):
        retweet_ids.add(retweet_id)
        if raw_item_id is not None:
            raw_ids.add(raw_item_id)

    author = func.lower(func.ltrim(Quarantined.author, "@"))
    quarantine_ids = set(
        session.scalars(
            select(Quarantined.id).where(
                Quarantined.raw_item_id.in_(raw_ids) | (author == lowered)
            )
        )
    )
    return story_ids, raw_ids, quarantine_ids, retweet_ids


# --- removing ----------------------------------------------------------------------


def _take_back(
    session: Session, story_ids: set[int], report: ErasureReport
) -> list[str]:
    """Queue DELETE deliveries for the stories and return the public ids of released ones."""
    released: list[str] = []
    stories = session.scalars(
        select(Story).where(Story.id.in_(story_ids)).order_by(Story.id)
    )
    for story in stories:
        queued, on_site = take_back(session, story)
        report.deletes_queued += queued
        if on_site:
            released.append(story_key(story.source, story.external_id))
    return released


def _remove(
    session: Session,
    story_ids: set[int],
    raw_ids: set[int],
    quarantine_ids: set[int],
    retweet_ids: set[int],
    report: ErasureReport,
) -> None:
    person_ids = set(
        session.scalars(
            select(TagRow.person_id).where(
                TagRow.story_id.in_(story_ids), TagRow.person_id.is_not(None)
            )
        )
    )
    report.audit_events = session.execute(
        delete(AuditEvent).where(AuditEvent.story_id.in_(story_ids))
    ).rowcount
    report.tags = session.execute(
        delete(TagRow).where(TagRow.story_id.in_(story_ids))
    ).rowcount
    session.execute(delete(Story).where(Story.id.in_(story_ids)))
    report.stories = sorted(story_ids)
    report.quarantined = session.execute(
        delete(Quarantined).where(Quarantined.id.in_(quarantine_ids))
    ).rowcount
    report.retweets = session.execute(
        delete(Retweet).where(Retweet.id.in_(retweet_ids))
    ).rowcount
    report.raw_items = session.execute(
        delete(RawItemRow).where(RawItemRow.id.in_(raw_ids))
    ).rowcount

    # A person whom only the erased stories mentioned would keep their name on file.
    for person_id in person_ids:
        remaining = session.scalar(
            select(func.count())
            .select_from(TagRow)
            .where(TagRow.person_id == person_id)
        )
        if not remaining:
            session.execute(delete(Person).where(Person.id == person_id))
            report.people += 1


# --- scrubbing ---------------------------------------------------------------------


def _scrub_value(value: Any, needle: str) -> Any:
    if isinstance(value, bytes):
        return re.sub(
            re.escape(needle.encode()), ERASED.encode(), value, flags=re.IGNORECASE
        )
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    return json.loads(pattern.sub(ERASED, json.dumps(value)))


def _contains(value: Any, needle: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        return needle.encode() in value.lower()
    if isinstance(value, str):
        return needle in value.lower()
    return needle in json.dumps(value).lower()


def _scrub_table(
    session: Session, table: Table, needle: str, report: ErasureReport
) -> None:
    """Replace ``needle`` in each text, JSON and binary column of ``table``.

    Text and JSON columns are filtered in SQL. Binary columns are streamed and checked
    in Python, keeping only the rows that match, because SQL has no portable way to
    search bytes.
    """
    primary_key = list(table.primary_key.columns)
    for column in table.columns:
        if column.primary_key:
            continue
        query = select(*primary_key, column)
        if isinstance(column.type, JSON):
            query = query.where(func.lower(cast(column, Text)).contains(needle))
        elif isinstance(column.type, (String, Text)):
            query = query.where(func.lower(column).contains(needle))
        elif not isinstance(column.type, LargeBinary):
            continue
        rows = session.execute(query.execution_options(yield_per=SCAN_BATCH))
        matches = [tuple(row) for row in rows if _contains(row[-1], needle)]
        for row in matches:
            where = [key == row[index] for index, key in enumerate(primary_key)]
            scrubbed = _scrub_value(row[-1], needle)
            session.execute(
                table.update().where(*where).values({column.name: scrubbed})
            )
        if matches:
            report.scrubbed[f"{table.name}.{column.name}"] = len(matches)


def scrub_everywhere(session: Session, needle: str, report: ErasureReport) -> None:
    """Replace ``needle`` in every text, JSON and binary column, ignoring case.

    NOTE: only literal occurrences are found. An address inside a base64 or
    quoted-printable mail body, or an RFC 2047 encoded header, stays in the raw bytes
    unless the mail's sender headers matched and the whole item was removed.
    """
    for table in Base.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        _scrub_table(session, table, needle, report)
    curators = Base.metadata.tables["curators"]
    report.curator_account = bool(
        session.scalar(
            select(func.count())
            .select_from(curators)
            .where(func.lower(curators.c.email) == needle)
        )
    )


# --- entry points ------------------------------------------------------------------


def _finish(
    session: Session, released: list[str], report: ErasureReport, actor: str
) -> None:
    note = (
        f"erased {len(report.stories)} stories, {report.raw_items} raw items, "
        f"{report.quarantined} quarantined items, {report.retweets} retweets, {report.tags} tags"
    )
    session.add(
        AuditEvent(
            actor=actor,
            action=ERASURE_ACTION,
            before=None,
            after={"story_keys": released},
            note=note,
        )
    )
    log.info("%s; %d deletions queued", note, report.deletes_queued)


def forget_email(db: Database, address: str, *, actor: str = "system") -> ErasureReport:
    """Erase everything harvester keeps from or about the sender ``address``."""
    needle = normalize_email(address)
    report = ErasureReport()
    with db.write() as session:
        story_ids, raw_ids, quarantine_ids, retweet_ids = _find_by_email(
            session, needle
        )
        released = _take_back(session, story_ids, report)
        _remove(session, story_ids, raw_ids, quarantine_ids, retweet_ids, report)
        scrub_everywhere(session, needle, report)
        _finish(session, released, report, actor)
    return report


def forget_handle(db: Database, handle: str, *, actor: str = "system") -> ErasureReport:
    """Erase the posts, retweets and raw items of the X account ``handle``.

    NOTE: mentions of the handle in other people's posts stay, because they are
    part of those posts; a curator edits them where needed.
    """
    name = normalize_handle(handle)
    report = ErasureReport()
    with db.write() as session:
        story_ids, raw_ids, quarantine_ids, retweet_ids = _find_by_handle(session, name)
        released = _take_back(session, story_ids, report)
        _remove(session, story_ids, raw_ids, quarantine_ids, retweet_ids, report)
        _finish(session, released, report, actor)
    return report
