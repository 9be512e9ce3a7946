"""Curator accounts: create, list, disable, change role or password, and check a login."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from harvester.review.decisions import ReviewError
from harvester.review.security import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from store.db import Database
from store.models import AuditEvent, Curator

log = logging.getLogger(__name__)

ROLES = ("curator", "admin")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class CuratorInfo:
    """A curator account without its password hash."""

    id: int
    email: str
    role: str
    active: bool = True
    created_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _info(row: Curator) -> CuratorInfo:
    return CuratorInfo(row.id, row.email, row.role, row.active, row.created_at)


def normalize_email(email: str) -> str:
    """Return the address trimmed and lowercased, or raise ReviewError if it is not one."""
    normalized = email.strip().lower()
    if not _EMAIL.match(normalized):
        raise ReviewError(
            f"invalid email address {email!r}: use the form name@example.org"
        )
    return normalized


def validate_role(role: str) -> None:
    if role not in ROLES:
        raise ReviewError(f"invalid role {role!r}: use curator or admin")


def _checked_hash(password: str, address: str) -> str:
    """Hash ``password`` after checking it; raise ReviewError naming ``address`` if it is weak."""
    problem = password_problem(password)
    if problem:
        raise ReviewError(f"{problem}: choose a longer password for {address}")
    return hash_password(password)


def add_curator(
    db: Database,
    email: str,
    password: str,
    role: str = "curator",
    actor: CuratorInfo | None = None,
) -> CuratorInfo:
    """Create a curator account; raise ReviewError if the address is taken or the password is weak."""
    address = normalize_email(email)
    validate_role(role)
    password_hash = _checked_hash(password, address)

    with db.write() as session:
        existing_id = session.scalar(
            select(Curator.id).where(func.lower(Curator.email) == address)
        )
        if existing_id is not None:
            raise ReviewError(f"a curator with the address {address} already exists")
        row = Curator(
            email=address, password_hash=password_hash, role=role, active=True
        )
        session.add(row)
        session.flush()
        session.add(
            _account_event(actor, "curator_add", None, {"email": address, "role": role})
        )
        info = _info(row)
    log.info("curator %s added with role %s", address, role)
    return info


def list_curators(db: Database) -> list[CuratorInfo]:
    with db.read() as session:
        return [
            _info(row)
            for row in session.scalars(select(Curator).order_by(Curator.email))
        ]


def update_curator(
    db: Database,
    email: str,
    *,
    active: bool | None = None,
    role: str | None = None,
    actor: CuratorInfo | None = None,
) -> CuratorInfo:
    """Enable, disable or change the role of a curator; raise ReviewError if not found.

    The last active admin cannot be disabled or demoted, so someone can always manage accounts.
    """
    address = normalize_email(email)
    if role is not None:
        validate_role(role)
    with db.write() as session:
        row = session.scalar(
            select(Curator).where(func.lower(Curator.email) == address)
        )
        if row is None:
            raise ReviewError(
                f"curator {address} not found: list them with `harvester curators list`"
            )
        before = {"active": row.active, "role": row.role}
        removes_admin = (
            row.role == "admin"
            and row.active
            and (active is False or role == "curator")
        )
        if removes_admin:
            admins = session.scalar(
                select(func.count())
                .select_from(Curator)
                .where(Curator.role == "admin", Curator.active.is_(True))
            )
            if admins <= 1:
                raise ReviewError(
                    f"{address} is the last active admin: make another curator admin first"
                )
        if active is not None:
            row.active = active
        if role is not None:
            row.role = role
        after = {"active": row.active, "role": row.role}
        if after != before:
            session.add(
                _account_event(
                    actor,
                    "curator_update",
                    {"email": address, **before},
                    {"email": address, **after},
                )
            )
        info = _info(row)
    log.info("curator %s updated: %s -> %s", address, before, after)
    return info


def set_password(
    db: Database, email: str, password: str, actor: CuratorInfo | None = None
) -> CuratorInfo:
    """Replace a curator's password; raise ReviewError if not found or the password is weak.

    Sessions carry a fingerprint of the password hash, so the new hash ends every
    existing session of that curator at its next request.
    """
    address = normalize_email(email)
    password_hash = _checked_hash(password, address)
    with db.write() as session:
        row = session.scalar(
            select(Curator).where(func.lower(Curator.email) == address)
        )
        if row is None:
            raise ReviewError(
                f"curator {address} not found: list them with `harvester curators list`"
            )
        row.password_hash = password_hash
        # The audit event records that the password changed, never the hash.
        session.add(
            _account_event(actor, "curator_password", None, {"email": address})
        )
        info = _info(row)
    log.info("password of curator %s changed, which ends their sessions", address)
    return info


def authenticate(
    db: Database, email: str, password: str
) -> tuple[CuratorInfo, str] | None:
    """Return the curator and password hash for a correct login by an active curator, else None."""
    try:
        address = normalize_email(email)
    except ReviewError:
        return None
    with db.read() as session:
        row = session.scalar(
            select(Curator).where(func.lower(Curator.email) == address)
        )
        if row is None or not row.active:
            # Hash anyway so a missing account takes as long as a wrong password.
            verify_password(_dummy_hash(), password)
            return None
        info, password_hash = _info(row), row.password_hash
    if not verify_password(password_hash, password):
        return None
    if needs_rehash(password_hash):
        password_hash = hash_password(password)
        with db.write() as session:
            stored = session.get(Curator, info.id)
            if stored is not None:
                stored.password_hash = password_hash
    return info, password_hash


def load_curator(db: Database, curator_id: int) -> tuple[CuratorInfo, str] | None:
    """Return an active curator and their password hash, or None."""
    with db.read() as session:
        row = session.get(Curator, curator_id)
        if row is None or not row.active:
            return None
        return _info(row), row.password_hash


def _account_event(
    actor: CuratorInfo | None, action: str, before: dict | None, after: dict
) -> AuditEvent:
    return AuditEvent(
        story_id=None,
        curator_id=actor.id if actor else None,
        actor=actor.email if actor else "cli",
        action=action,
        before=before,
        after=after,
    )


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password, used to equalize login timing")
