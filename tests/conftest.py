"""Shared fixtures: a fresh story store on SQLite and on PostgreSQL, and the public data sets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from harvester.app import App
from harvester.config import config_from_dict
from store.db import Database

pytest_plugins = [
    "tests.fixtures.dovecot",
    "tests.fixtures.x_api",
    "tests.fixtures.browser",
    "tests.fixtures.smtp",
]

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("HARVESTER_SHARED_DATA", ROOT.parent / "shared" / "data"))
POSTGRES_ADMIN_URL = os.environ.get("HARVESTER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def shared_data() -> Path:
    """Return the folder of public data sets, or skip when it is not beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data sets not found at {SHARED_DATA}; set HARVESTER_SHARED_DATA to run this test")
    return SHARED_DATA


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _postgres_available():
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: start it with "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """Create a throwaway PostgreSQL database and drop it after the test."""
    name = f"harvester_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'stories.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stories.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def make_app(database_url: str, sources: dict | None = None, base_dir: Path | None = None, **extra: object) -> App:
    """Build an App from an in-memory config, for tests."""
    data = {"database": database_url, "sources": sources or {}, **extra}
    return App.from_config(config_from_dict(data, base_dir=base_dir or ROOT))
