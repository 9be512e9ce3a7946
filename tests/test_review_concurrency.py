"""Curator clicks while another process writes to the same SQLite store."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from harvester.review import create_app
from store.models import AuditEvent, Story
from tests.fixtures.browser import ROOT, ReviewSite

# Inserts stories one small write transaction at a time until the stop file appears,
# the way a harvest commits batch after batch.
WRITER = """
import sys, time
from datetime import datetime, timezone
from pathlib import Path
from store.db import Database
from store.models import Story

url, stop, ready = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
db = Database(url, migrate=False)
number = 0
while not stop.exists() and number < 20000:
    with db.write() as session:
        for _ in range(20):
            number += 1
            session.add(Story(source="writer", external_id=f"w-{number}", kind="tweet", text=f"written {number}",
                              created_at=datetime.now(timezone.utc), status="pending"))
    if number == 20:
        ready.touch()
print(number)
"""


def test_clicks_while_other_process_writes(
    review_site: ReviewSite, tmp_path: Path
) -> None:
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, review_site.app.db.url, str(stop), str(ready)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists():
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.05)

        with TestClient(create_app(review_site.app)) as client:
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            client.post(
                "/login",
                data={
                    "email": review_site.curator_email,
                    "password": review_site.password,
                    "csrf_token": token,
                },
            )
            csrf = re.search(
                r'<meta name="csrf-token" content="([^"]+)">', client.get("/queue").text
            ).group(1)

            with review_site.app.db.read() as session:
                written_before = session.scalar(
                    select(func.count())
                    .select_from(Story)
                    .where(Story.source == "writer")
                )
            story_id = review_site.story_ids["okafor"]
            statuses = []
            for round_number in range(15):
                for action in ("approve", "reopen"):
                    response = client.post(
                        f"/stories/{story_id}/decision",
                        data={"action": action, "csrf_token": csrf},
                        headers={"X-Requested-With": "fetch"},
                    )
                    assert response.status_code == 200, response.text
                    statuses.append(response.json()["status"])
                response = client.post(
                    f"/stories/{story_id}/notes",
                    data={"note": f"round {round_number}", "csrf_token": csrf},
                )
                assert response.status_code in (200, 303), response.text
            with review_site.app.db.read() as session:
                written_after = session.scalar(
                    select(func.count())
                    .select_from(Story)
                    .where(Story.source == "writer")
                )
    finally:
        stop.touch()
        output, errors = writer.communicate(timeout=120)

    assert writer.returncode == 0, errors
    assert "database is locked" not in errors
    assert statuses == ["approved", "pending"] * 15
    # The writer kept committing while the clicks ran, so the two really overlapped.
    assert written_after > written_before
    with review_site.app.db.read() as session:
        events = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.story_id == story_id)
        )
    assert events == 45
    assert int(output.strip()) >= written_after
