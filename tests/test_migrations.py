"""The migrations build the schema the models describe, and carry old stores forward."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from store.db import Database, alembic_config
from store.models import Base


def test_newest_migration_matches_the_models(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        database.dispose()
    assert differences == []


def test_upgrade_fills_surnames_of_existing_aliases(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0001")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO people (id, name, created_at) VALUES (1, 'Amara Okonkwo', CURRENT_TIMESTAMP)"))
        for alias in ("amara okonkwo", "okonkwo", "@amara_teaches", "f:okonkwo"):
            connection.execute(text("INSERT INTO person_aliases (person_id, alias) VALUES (1, :alias)"), {"alias": alias})
    engine.dispose()

    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT alias, surname FROM person_aliases")).all())
    finally:
        database.dispose()
    assert rows == {"amara okonkwo": "okonkwo", "okonkwo": None, "@amara_teaches": None, "f:okonkwo": None}
