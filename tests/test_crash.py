"""Crash safety: a harvest killed with SIGKILL at random moments loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from sources._mail import message_key
from store.db import Database
from store.models import RawItemRow, Story
from tests.conftest import ROOT
from tests.fixtures.x_api import PostFactory

TRIALS = 15
KILLS_PER_TRIAL = 2
MAILS = 30
POSTS = 45
PLACES = [
    "Leeds",
    "Cardiff",
    "Belfast",
    "Norwich",
    "Exeter",
    "Dundee",
    "Hull",
    "Bath",
    "York",
]
SUBJECTS = [
    "phonics",
    "chemistry",
    "history",
    "drama",
    "geography",
    "music",
    "algebra",
    "poetry",
]


def story_mail(number: int) -> bytes:
    place, subject = PLACES[number % len(PLACES)], SUBJECTS[number % len(SUBJECTS)]
    return (
        f"From: Teacher {number} <teacher{number}@example.org>\r\n"
        "To: stories@example.org\r\n"
        f"Subject: The teacher who inspired me ({number})\r\n"
        f"Date: Mon, 2 Jun 2025 09:{number % 60:02}:00 +0000\r\n"
        f"Message-ID: <crash-{number}@example.org>\r\n"
        "\r\n"
        f"Mr Ahmed in {place} made {subject} come alive for me in lesson {number}, "
        f"and that is why I became a teacher myself.\r\n"
    ).encode()


def story_posts() -> tuple[dict, list[dict]]:
    factory = PostFactory()
    posts = []
    for number in range(POSTS):
        place, subject = (
            PLACES[number % len(PLACES)],
            SUBJECTS[(number * 3) % len(SUBJECTS)],
        )
        text = f"Miss Clarke from {place} showed me how much fun {subject} can be (memory {number}) #ConnectED"
        posts.append(factory.post(factory.teacher(number), text))
    return factory.users, posts


def run_harvest(
    fake_x: Path, config: Path, kill_after: float | None
) -> subprocess.CompletedProcess | None:
    """Run the harvest subprocess; with ``kill_after``, SIGKILL it after that many seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.crash_harvest", str(fake_x), str(config)]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if kill_after is None:
        output, errors = process.communicate(timeout=600)
        return subprocess.CompletedProcess(command, process.returncode, output, errors)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return None


def stored(url: str) -> tuple[dict[str, list[str]], int]:
    """Return the external ids of stored stories by source, and the number of raw items."""
    db = Database(url)
    try:
        with db.read() as session:
            by_source: dict[str, list[str]] = {}
            for source, external_id in session.execute(
                select(Story.source, Story.external_id)
            ):
                by_source.setdefault(source, []).append(external_id)
            raw_items = (
                session.scalar(select(func.count()).select_from(RawItemRow)) or 0
            )
    finally:
        db.dispose()
    return by_source, raw_items


@pytest.mark.imap
def test_killed_harvests_lose_and_duplicate_nothing(
    dovecot, imap_user, tmp_path, monkeypatch
):
    username, password = imap_user
    mails = [story_mail(number) for number in range(MAILS)]
    dovecot.append(username, mails)
    users, posts = story_posts()
    fake_x = tmp_path / "fake_x.json"
    fake_x.write_text(json.dumps({"users": users, "posts": posts}), encoding="utf-8")
    monkeypatch.setenv("STORY_INBOX_PASSWORD", password)
    expected = {
        "x": sorted(post["id"] for post in posts),
        "inbox": sorted(message_key(mail) for mail in mails),
    }
    sources = {
        "x": {
            "type": "twitter",
            "query": "#ConnectED",
            "max_results": 10,
            "timeout": 10,
        },
        "inbox": {
            "type": "imap",
            "host": dovecot.host,
            "port": dovecot.plain_port,
            "security": "plain",
            "username": username,
            "batch_size": 4,
            "timeout": 10,
        },
    }

    def write_config(trial: int) -> tuple[Path, str]:
        url = f"sqlite:///{tmp_path / f'trial-{trial}.db'}"
        path = tmp_path / f"trial-{trial}.yaml"
        path.write_text(
            yaml.safe_dump({"database": url, "sources": sources}), encoding="utf-8"
        )
        return path, url

    # A clean run first: it checks the set-up and measures how long one harvest takes.
    config, url = write_config(0)
    started = time.monotonic()
    clean = run_harvest(fake_x, config, None)
    duration = time.monotonic() - started
    assert clean is not None and clean.returncode == 0, clean.stderr.decode()
    by_source, _ = stored(url)
    assert {source: sorted(ids) for source, ids in by_source.items()} == expected

    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for trial in range(1, TRIALS + 1):
        config, url = write_config(trial)
        fake_x.with_suffix(".cursors.json").unlink(missing_ok=True)
        kill_points = [
            round(rng.uniform(0.0, duration), 2) for _ in range(KILLS_PER_TRIAL)
        ]
        for kill_after in kill_points:
            run_harvest(fake_x, config, kill_after)

        final = run_harvest(fake_x, config, None)

        where = f"trial {trial}, kills after {kill_points} s, random seed {seed}"
        assert final is not None and final.returncode == 0, (
            f"{where}: {final.stderr.decode()}"
        )
        by_source, raw_items = stored(url)
        for source, ids in expected.items():
            assert sorted(by_source.get(source, [])) == ids, (
                f"{where}: stories of {source} differ from the input"
            )
        assert raw_items == MAILS + POSTS, where
