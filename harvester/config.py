"""Load and validate ``config.yaml``.

Secrets never live in the file: a source names the environment variable that contains
its password or token (``password_env``, ``bearer_token_env``) and ``secret()``
reads it at the moment it is needed.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harvester.errors import ConfigError
from harvester.logs import MIN_SECRET_LENGTH, register_secret_variable

DEFAULT_CONFIG = "config.yaml"

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")


def parse_duration(text: str | int) -> timedelta:
    """Parse ``90s``, ``15m``, ``2h`` or ``1d`` (a bare number means seconds)."""
    if isinstance(text, int):
        return timedelta(seconds=text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and s, m, h or d, such as 15m")
    number, unit = int(match.group(1)), match.group(2)
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    return timedelta(**{units[unit]: number})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(_Strict):
    """When the scheduler runs a source: every N minutes, or a cron expression."""

    every: str | None = None
    cron: str | None = None
    timezone: str = "Europe/London"

    @field_validator("every")
    @classmethod
    def _check_every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class _SourceBase(_Strict):
    enabled: bool = True
    schedule: Schedule | None = None
    batch_size: int = Field(default=100, ge=1, le=10_000)


class TwitterSource(_SourceBase):
    type: Literal["twitter"]
    query: str = "#ConnectED"
    bearer_token_env: str = "X_BEARER_TOKEN"
    max_results: int = Field(default=100, ge=10, le=100)
    timeout: float = Field(default=30.0, gt=0)
    base_url: str | None = None


class ImapSource(_SourceBase):
    type: Literal["imap"]
    host: str
    port: int | None = None
    security: Literal["tls", "starttls", "plain"] = "tls"
    username: str
    password_env: str = "STORY_INBOX_PASSWORD"
    folder: str = "INBOX"
    after: str = "none"
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    oversize: Literal["strip", "quarantine"] = "strip"
    ca_file: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("after")
    @classmethod
    def _check_after(cls, value: str) -> str:
        if value in ("none", "seen") or (value.startswith("move:") and len(value) > 5):
            return value
        raise ValueError("must be none, seen or move:FOLDER")

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return 993 if self.security == "tls" else 143


class FileSource(_SourceBase):
    type: Literal["twarc", "tags", "eml", "mbox"]
    path: str
    # An archive is read as fast as the tagger takes it, so one batch is one nlp.pipe
    # batch (nlp.batch_size): fewer, fuller batches tag faster and commit less often.
    batch_size: int = Field(default=256, ge=1, le=10_000)


SourceSettings = Annotated[Union[TwitterSource, ImapSource, FileSource], Field(discriminator="type")]


class TrainingEntry(_Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)
    kind: str = "course"


class NlpSettings(_Strict):
    pipeline: str = "en_core_web_sm"
    batch_size: int = Field(default=256, ge=1)
    n_process: int = Field(default=1, ge=1)
    gazetteer: str | None = None
    training: list[TrainingEntry] = Field(default_factory=list)
    fuzzy: bool = True
    # stock: the pipeline's own NER; bundled: the fine-tuned NER in harvester/tagging/model;
    # or the path of a spaCy pipeline folder.
    ner_model: str = "bundled"
    tweet_aware: bool = True
    case_fallback: bool = False
    # Tag a word outside the NER's entities that is a listed, uncommon first name.
    name_lists: bool = True


class SmtpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = 25
    security: Literal["plain", "starttls", "tls"] = "plain"
    username: str | None = None
    password_env: str | None = None
    sender: str = "harvester@localhost"
    timeout: float = 30.0


class AlertSettings(_Strict):
    after_failures: int = Field(default=3, ge=1)
    recipients: list[str] = Field(default_factory=list)
    smtp: SmtpSettings | None = None


class SchedulerSettings(_Strict):
    misfire_grace_time: str = "5m"
    default_every: str = "15m"
    timezone: str = "Europe/London"


class PublishSettings(_Strict):
    url: str
    secret_env: str = "PUBLISH_SECRET"
    timeout: float = 30.0
    max_attempts: int = Field(default=5, ge=1)
    schedule: Schedule | None = None


class ReviewSettings(_Strict):
    secret_key_env: str = "HARVESTER_SECRET_KEY"
    session_hours: float = Field(default=12, gt=0)


class RetentionSettings(_Strict):
    rejected_days: int = Field(default=180, ge=1)
    quarantine_days: int = Field(default=90, ge=1)


class Config(_Strict):
    database: str = "sqlite:///harvester.db"
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    publish: PublishSettings | None = None
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def database_url(self) -> str:
        """Return the SQLAlchemy URL, with a relative SQLite path taken from the config's folder."""
        url = self.database
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url[len("sqlite:///"):]
            if relative and relative != ":memory:":
                return "sqlite:///" + str((self.base_dir / relative).resolve())
        return url

    def resolve_path(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def enabled_sources(self) -> list[str]:
        return [name for name, source in self.sources.items() if source.enabled]


def secret(variable: str, purpose: str) -> str:
    """Read a secret from the environment, or raise ConfigError naming the variable."""
    register_secret_variable(variable)
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"environment variable {variable} is not set: it must contain the {purpose}")
    if value != value.strip() or "\n" in value or "\r" in value:
        raise ConfigError(
            f"environment variable {variable} starts or ends with whitespace or contains a newline: "
            f"set it to the {purpose} alone"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"environment variable {variable} is too short to be the {purpose}")
    return value


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        lines.append(f"{key}: {problem['msg']}")
    return "; ".join(lines)


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file; raise ConfigError naming the bad key."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {config_path} not found: pass --config PATH or create it") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {config_path} is not valid UTF-8 ({error.reason}): save it as UTF-8") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {config_path} is a folder: pass the path of the YAML file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {config_path} is not valid YAML: {error}") from error
    return config_from_dict(data, base_dir=config_path.resolve().parent, origin=str(config_path))


def config_from_dict(data: dict[str, Any], base_dir: Path | None = None, origin: str = "config") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys")
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{origin} is invalid: {_describe(error)}") from None
    config.base_dir = base_dir or Path.cwd()
    _register_secret_names(data)
    return config


def _register_secret_names(data: Any) -> None:
    """Register every variable named by an ``*_env`` key so logs mask its value."""
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).endswith("_env") and isinstance(value, str):
                register_secret_variable(value)
            else:
                _register_secret_names(value)
    elif isinstance(data, list):
        for value in data:
            _register_secret_names(value)
