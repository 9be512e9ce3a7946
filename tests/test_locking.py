"""SQLite with two writers: a harvest and another process writing at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from harvester.pipeline import harvest
from store.db import Database
from store.models import AuditEvent, HarvestRun, Story
from tests.conftest import ROOT, make_app
from tests.test_scheduler import wait_for, write_mails

# Writes one audit event per transaction until the stop file exists, then prints counts.
WRITER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from sqlalchemy.exc import OperationalError
    from store.db import Database
    from store.models import AuditEvent

    url, ready, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    db = Database(url, migrate=False)
    written = locked = other = 0
    ready.touch()
    while not stop.exists() or written < 200:
        try:
            with db.write() as session:
                session.add(AuditEvent(actor="writer", action="test", note=str(written)))
            written += 1
        except OperationalError as error:
            if "database is locked" in str(error):
                locked += 1
            else:
                other += 1
                print(error, file=sys.stderr)
    print(json.dumps({"written": written, "locked": locked, "other": other}))
    """
)


def test_harvest_and_writer_never_locked(tmp_path, sqlite_url):
    total = 300
    write_mails(tmp_path / "mail", total)
    app = make_app(
        sqlite_url,
        {"archive": {"type": "eml", "path": "mail", "batch_size": 5}},
        base_dir=tmp_path,
    )
    Database(sqlite_url).dispose()  # create the schema before the writer opens the file
    ready, stop = tmp_path / "writer-ready", tmp_path / "writer-stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, sqlite_url, str(ready), str(stop)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(ready.exists, "the writer process to start")
        summary = harvest(app, "archive")
    finally:
        stop.touch()
        output, errors = writer.communicate(timeout=300)

    counts = json.loads(output)
    assert writer.returncode == 0, errors
    assert counts["locked"] == 0
    assert counts["other"] == 0
    assert summary.status == "ok", summary.error
    assert summary.new == total
    with app.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == total
        assert (
            session.scalar(select(func.count()).select_from(AuditEvent))
            == counts["written"]
        )
        assert session.scalar(select(HarvestRun.status)) == "ok"
    app.close()


def test_sqlite_connection_settings(sqlite_url):
    from sqlalchemy import text

    from store.db import SQLITE_WAL_CHECKPOINT_PAGES

    database = Database(sqlite_url)
    try:
        with database.engine.connect() as connection:
            journal = connection.execute(text("PRAGMA journal_mode")).scalar()
            checkpoint = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
            synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    finally:
        database.dispose()
    assert journal == "wal"
    assert checkpoint == SQLITE_WAL_CHECKPOINT_PAGES
    assert synchronous == 1  # NORMAL
