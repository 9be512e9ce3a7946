"""SQLAlchemy models of the story store.

Every table is created by the Alembic migrations in ``store/migrations``; after a
change here, regenerate them with ``make migration``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: harvester stores UTC times only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER primary keys, so big ids fall back to INTEGER there.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class RawItemRow(Base):
    """A fetched item exactly as received: mail bytes or a post with its includes."""

    __tablename__ = "raw_items"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_raw_items_source_external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int | None] = mapped_column(Integer)
    attachments_dropped: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime]
    received_at: Mapped[datetime | None]


class Story(Base):
    """A story for review, with its classification, status and consent."""

    __tablename__ = "stories"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_stories_source_external_id"),
        Index("ix_stories_status_created", "status", "created_at", "id"),
        Index("ix_stories_created", "created_at", "id"),
        Index("ix_stories_content_hash", "content_hash"),
        # The review queue counts the duplicates of each listed story.
        Index("ix_stories_duplicate_of", "duplicate_of_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(500))
    raw_item_id: Mapped[int | None] = mapped_column(ForeignKey("raw_items.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    author_name: Mapped[str | None] = mapped_column(Text)
    author_handle: Mapped[str | None] = mapped_column(String(200), index=True)
    author_email: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    conversation_id: Mapped[str | None] = mapped_column(String(100))
    references: Mapped[dict[str, Any]] = mapped_column(default=dict)
    defects: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    harvested_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    classification: Mapped[str] = mapped_column(String(20), default="story")
    classification_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    consent: Mapped[str] = mapped_column(String(20), default="unknown")
    attribution: Mapped[str] = mapped_column(String(20), default="full_name")
    version: Mapped[int] = mapped_column(Integer, default=1)
    gone_at_source: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    # First time the story left the store in a feed or a delivery. Once set, taking the
    # story back (consent withdrawn, rejected, gone at the source) emits a deletion.
    released_at: Mapped[datetime | None]

    tags: Mapped[list[TagRow]] = relationship(
        back_populates="story", cascade="all, delete-orphan", order_by="TagRow.start"
    )


class TagRow(Base):
    """A person or training course in a story, with offsets into ``stories.text``."""

    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_kind_name", "kind", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    training_id: Mapped[int | None] = mapped_column(ForeignKey("training.id", ondelete="SET NULL"), index=True)
    pupil: Mapped[bool] = mapped_column(Boolean, default=False)

    story: Mapped[Story] = relationship(back_populates="tags")


class Person(Base):
    """A person mentioned in stories; aliases let several spellings count as one."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    aliases: Mapped[list[PersonAlias]] = relationship(back_populates="person", cascade="all, delete-orphan")


def alias_surname(alias: str) -> str | None:
    """Return the last word of a person alias of two or more words, or None for an @handle or one word."""
    if alias.startswith("@") or " " not in alias:
        return None
    return alias.rsplit(" ", 1)[1]


def _alias_surname_default(context: Any) -> str | None:
    return alias_surname(context.get_current_parameters()["alias"])


class PersonAlias(Base):
    __tablename__ = "person_aliases"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(300), unique=True)
    # The last word of a full-name alias, so "Mrs Okonkwo" finds "amara okonkwo" by index.
    surname: Mapped[str | None] = mapped_column(String(300), index=True, default=_alias_surname_default)
    person: Mapped[Person] = relationship(back_populates="aliases")


class Training(Base):
    """A training course or provider from the gazetteer."""

    __tablename__ = "training"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="course")
    aliases: Mapped[list[TrainingAlias]] = relationship(back_populates="training", cascade="all, delete-orphan")


class TrainingAlias(Base):
    __tablename__ = "training_aliases"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("training.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(300), unique=True)
    added_by: Mapped[str] = mapped_column(String(20), default="gazetteer")
    training: Mapped[Training] = relationship(back_populates="aliases")


class Retweet(Base):
    """A repost of a story: not a story itself, linked to the original post."""

    __tablename__ = "retweets"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_retweets_source_external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(100))
    original_external_id: Mapped[str] = mapped_column(String(100), index=True)
    raw_item_id: Mapped[int | None] = mapped_column(ForeignKey("raw_items.id", ondelete="SET NULL"))
    author_handle: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Quarantined(Base):
    """A raw item kept aside with the reason it is not a story."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_quarantine_source_external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(500))
    raw_item_id: Mapped[int | None] = mapped_column(ForeignKey("raw_items.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]


class Checkpoint(Base):
    """The position a source resumes from: since_id and next_token, or UIDVALIDITY and UID."""

    __tablename__ = "checkpoints"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HarvestRun(Base):
    """One harvest of one source, with its counts and error."""

    __tablename__ = "harvest_runs"
    __table_args__ = (Index("ix_harvest_runs_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")


class Alert(Base):
    """An alert mail sent to curators about a failing or recovered source."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)


class Curator(Base):
    """A person who reviews stories; passwords are stored as Argon2 hashes."""

    __tablename__ = "curators"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20), default="curator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """A curator's decision or edit, with the values before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_story", "story_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("curators.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320), default="system")
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One story version sent to the community site, or a deletion of it."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_story", "story_key", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_key: Mapped[str] = mapped_column(String(200))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # SHA-256 of the JSON body sent, so an unchanged story is not sent again.
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ExportRecord(Base):
    """One export run: format, time and how many stories it wrote."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    format: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime | None]
    exported_at: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[str | None] = mapped_column(Text)

