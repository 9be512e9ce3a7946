"""IMAP benchmark: the product's harvest from a local dovecot against a plain fetch and parse.

One throwaway dovecot on 127.0.0.1 gets a mailbox of generated story emails. Then,
on the same mailbox:

* ``plain``: imapclient logs in, fetches every message in batches with
  ``BODY.PEEK[]`` and parses each with the standard ``email`` package. This is the
  limit of the fetch-and-parse stage.
* ``source``: the product's IMAP source and mail parser (``open_source`` then
  ``parse_item`` and ``classify`` on each item), without storing.
* ``harvest_without_nlp``: ``harvest`` of the IMAP source into an empty SQLite store,
  with a tagger that returns no tags, so the NLP limit measured elsewhere does not
  hide the cost of fetching, parsing and storing.
* ``harvest``: the same with the real tagger, for reference.

Run it by hand with ``python -m benchmarks.imap --messages 5000``.
"""

from __future__ import annotations

import argparse
import email
import logging
import os
import pwd
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email import policy
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from benchmarks.corpus import generate_emails
from benchmarks.measure import Stopwatch, peak_rss_mib, print_result
from benchmarks.stages import warm_up
from harvester.app import App
from harvester.classify import classify
from harvester.config import Config, config_from_dict
from harvester.parse import parse_item
from harvester.records import Story, Tag
from sources import open_source

SOURCE = "bench-inbox"
PASSWORD_VARIABLE = "HARVESTER_BENCH_IMAP_PASSWORD"


@contextmanager
def running_dovecot() -> Iterator[Any]:
    """Start a throwaway dovecot on free loopback ports, with the test suite's settings.

    NOTE: this repeats the start-up steps of the ``dovecot`` pytest fixture, which
    cannot be called outside pytest, and must follow that fixture when its folder
    layout changes. It reuses the fixture module's config template and helpers.
    """
    import subprocess

    from tests.fixtures import dovecot as fixture

    if not fixture.DOVECOT_BINARY.exists():
        raise SystemExit(
            f"{fixture.DOVECOT_BINARY} not found: install it with apt-get install dovecot-imapd"
        )
    root = Path(tempfile.mkdtemp(prefix="harvester-bench-dovecot-"))
    root.chmod(0o755)  # the dovecot and dovenull users must be able to enter it
    for name in ("run", "state", "mail", "users"):
        (root / name).mkdir()
    owner = pwd.getpwnam("dovecot")
    os.chown(root / "mail", owner.pw_uid, owner.pw_gid)
    fixture._make_certificate(root)
    (root / "key.pem").chmod(0o644)
    plain_port, tls_port = fixture._free_port(), fixture._free_port()
    config = root / "dovecot.conf"
    config.write_text(
        fixture._CONFIG.format(root=root, plain_port=plain_port, tls_port=tls_port)
    )
    with (root / "startup.log").open("wb") as startup_log:
        subprocess.run(
            [str(fixture.DOVECOT_BINARY), "-c", str(config)],
            check=True,
            stdout=startup_log,
            stderr=startup_log,
        )
    try:
        fixture._wait_for_port(plain_port, root / "dovecot.log")
        yield fixture.Dovecot(root, plain_port, tls_port, str(root / "cert.pem"))
    finally:
        pid_file = root / "run" / "master.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


def fill_mailbox(server: Any, username: str, count: int) -> int:
    """Append ``count`` generated emails to the user's INBOX; return their total size in bytes."""
    total = 0
    with server.connect(username) as client:
        for message in generate_emails(count):
            client.append("INBOX", message)
            total += len(message)
    return total


def plain_fetch_and_parse(
    server: Any, username: str, password: str, batch_size: int
) -> dict[str, Any]:
    """Fetch every message with imapclient in batches and parse each with ``email``."""
    timer = Stopwatch()
    parsed = 0
    with (
        timer.running(),
        IMAPClient(
            server.host, port=server.plain_port, ssl=False, timeout=30
        ) as client,
    ):
        client.login(username, password)
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        for start in range(0, len(uids), batch_size):
            chunk = uids[start : start + batch_size]
            for data in client.fetch(
                chunk, ["BODY.PEEK[]", "INTERNALDATE", "RFC822.SIZE"]
            ).values():
                message = email.message_from_bytes(
                    data[b"BODY[]"], policy=policy.default
                )
                body = message.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
                parsed += 1
    return timer.rates(parsed)


def imap_config(server: Any, username: str, database_url: str) -> Config:
    source = {
        "type": "imap",
        "host": server.host,
        "port": server.plain_port,
        "security": "plain",
        "username": username,
        "password_env": PASSWORD_VARIABLE,
        "folder": "INBOX",
        "after": "none",
    }
    return config_from_dict({"database": database_url, "sources": {SOURCE: source}})


def product_source(config: Config) -> dict[str, Any]:
    """Fetch with the product's IMAP source, then parse and classify each item."""
    timer = Stopwatch()
    stories = 0
    items = 0
    with timer.running():
        source = open_source(config, SOURCE)
        try:
            for batch in source.fetch(None):
                for item in batch.items:
                    items += 1
                    stories += classify(parse_item(item)).is_story
        finally:
            source.close()
    return {**timer.rates(items), "stories": stories}


class NoTags:
    """A tagger that finds nothing, to time a harvest without its NLP step."""

    def tag(self, stories: Sequence[Story]) -> list[list[Tag]]:
        return [[] for _ in stories]


def product_harvest(config: Config, *, with_nlp: bool) -> dict[str, Any]:
    from harvester.pipeline import harvest

    app = App.from_config(config)
    app.db  # noqa: B018 - open and migrate the store before the clock starts
    if with_nlp:
        warm_up(app.tagger)
    else:
        app._tagger = NoTags()  # App has no public seam for the tagger
        # Linking imports spaCy through the gazetteer. With the real tagger that import
        # happens before the clock starts, so it does here too.
        import harvester.tagging.people
        import harvester.tagging.training  # noqa: F401
    timer = Stopwatch()
    with timer.running():
        summary = harvest(app, SOURCE, trigger="benchmark")
    app.close()
    if summary.status != "ok":
        raise SystemExit(
            f"IMAP harvest ended with status {summary.status}: {summary.error}"
        )
    return {
        **timer.rates(summary.fetched),
        "new": summary.new,
        "quarantined": summary.quarantined,
    }


def measure_imap(messages: int) -> dict[str, Any]:
    password = "benchmark imap password"
    os.environ[PASSWORD_VARIABLE] = password
    with (
        running_dovecot() as server,
        tempfile.TemporaryDirectory(prefix="harvester-bench-imap-") as folder,
    ):
        username, _ = server.add_user(password)
        mailbox_bytes = fill_mailbox(server, username, messages)
        batch_size = (
            imap_config(server, username, "sqlite://").sources[SOURCE].batch_size
        )

        result: dict[str, Any] = {
            "messages": messages,
            "mailbox_bytes": mailbox_bytes,
            "batch_size": batch_size,
        }
        result["plain"] = plain_fetch_and_parse(server, username, password, batch_size)
        result["source"] = product_source(imap_config(server, username, "sqlite://"))
        for name, with_nlp in (("harvest_without_nlp", False), ("harvest", True)):
            database = f"sqlite:///{Path(folder) / (name + '.db')}"
            result[name] = product_harvest(
                imap_config(server, username, database), with_nlp=with_nlp
            )
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--messages", type=int, default=5000, help="generated emails in the mailbox"
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print_result(measure_imap(arguments.messages))


if __name__ == "__main__":
    main()
