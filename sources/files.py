"""Archive imports: twarc2 JSONL pages, TAGS sheets saved as CSV, .eml folders and mbox files.

File sources need no credentials. They keep no checkpoint of their own: the store's
unique (source, external id) key makes a second import of the same file add nothing.
"""

from __future__ import annotations

import csv
import json
import logging
import mailbox
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harvester.config import FileSource
from harvester.errors import PermanentSourceError
from harvester.records import Batch, Problem, RawItem
from sources._mail import message_key

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def split_page(page: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Split one X API v2 response page into one payload per post.

    Each payload keeps the post with the users and referenced posts it points to, so
    it can be parsed later without the rest of the page.
    A page may hold a list of posts (search), one post (filtered stream), or be one
    post already flattened by ``twarc2 flatten`` with its author inline.
    """
    if "data" not in page and "id" in page:
        yield str(page["id"]), {"data": page, "includes": {}}
        return
    includes = page.get("includes") or {}
    users = {user.get("id"): user for user in includes.get("users") or []}
    tweets = {tweet.get("id"): tweet for tweet in includes.get("tweets") or []}
    posts = page.get("data") or []
    if isinstance(posts, dict):
        posts = [posts]

    for tweet in posts:
        if not isinstance(tweet, dict) or "id" not in tweet:
            continue
        wanted_users = {tweet.get("author_id")}
        for mention in (tweet.get("entities") or {}).get("mentions") or []:
            wanted_users.add(mention.get("id"))
        referenced = []
        for reference in tweet.get("referenced_tweets") or []:
            original = tweets.get(reference.get("id"))
            if original is not None:
                referenced.append(original)
                wanted_users.add(original.get("author_id"))
                for mention in (original.get("entities") or {}).get("mentions") or []:
                    wanted_users.add(mention.get("id"))
        payload = {
            "data": tweet,
            "includes": {
                "users": [users[uid] for uid in sorted(filter(None, wanted_users)) if uid in users],
                "tweets": referenced,
            },
        }
        yield str(tweet.get("id")), payload


class _FileSourceBase:
    def __init__(self, name: str, settings: FileSource, path: Path) -> None:
        self.name = name
        self.settings = settings
        self.path = path

    def _check_path(self, *, folder: bool = False) -> None:
        if not self.path.exists():
            raise PermanentSourceError(self.name, f"{self.path} not found: fix 'path' in config.yaml")
        if folder and not self.path.is_dir():
            raise PermanentSourceError(self.name, f"{self.path} is not a folder of .eml files")

    def after_commit(self, batch: Batch) -> None:
        return None

    def close(self) -> None:
        return None


class TwarcFile(_FileSourceBase):
    """A twarc2 JSONL file: one X API v2 response page per line."""

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        self._check_path()
        fetched_at = _now()
        batch = Batch(items=[])
        with self.path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                origin = f"{self.path.name} line {number}"
                if not line.strip():
                    continue
                try:
                    page = json.loads(line)
                except ValueError as error:
                    batch.problems.append(
                        Problem(self.name, origin, f"invalid JSON ({error}); the line may be truncated: re-export it with twarc2", line[:100_000])
                    )
                    continue
                if not isinstance(page, dict):
                    batch.problems.append(Problem(self.name, origin, "not an X API v2 response page", line[:100_000]))
                    continue
                for error in page.get("errors") or []:
                    log.info("source %s: %s reports an API error: %s", self.name, origin, error.get("title") or error.get("detail"))
                for external_id, payload in split_page(page):
                    batch.items.append(RawItem(self.name, "tweet", external_id, compact_json(payload), fetched_at, origin=origin))
                if len(batch.items) >= self.settings.batch_size:
                    yield batch
                    batch = Batch(items=[])
        if batch.items or batch.problems:
            yield batch


class TagsSheet(_FileSourceBase):
    """A TAGS archive sheet saved as CSV (id_str, from_user, text, created_at, ...)."""

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        self._check_path()
        fetched_at = _now()
        batch = Batch(items=[])
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "id_str" not in reader.fieldnames or "text" not in reader.fieldnames:
                raise PermanentSourceError(
                    self.name, f"{self.path} is not a TAGS sheet: the header must include id_str and text"
                )
            for number, row in enumerate(reader, start=2):
                origin = f"{self.path.name} row {number}"
                external_id = (row.get("id_str") or "").strip()
                if not external_id.isdigit():
                    batch.problems.append(Problem(self.name, origin, f"invalid id_str {external_id!r}: expected digits", compact_json(row)))
                    continue
                batch.items.append(RawItem(self.name, "tweet", external_id, compact_json({"tags_row": row}), fetched_at, origin=origin))
                if len(batch.items) >= self.settings.batch_size:
                    yield batch
                    batch = Batch(items=[])
        if batch.items or batch.problems:
            yield batch


class EmlFolder(_FileSourceBase):
    """A folder of .eml files, read in name order, sub-folders included."""

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        self._check_path(folder=True)
        fetched_at = _now()
        batch = Batch(items=[])
        for path in sorted(self.path.rglob("*.eml")):
            raw = path.read_bytes()
            origin = str(path.relative_to(self.path))
            received = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            batch.items.append(
                RawItem(self.name, "email", message_key(raw), raw, fetched_at, origin=origin, received_at=received, size=len(raw))
            )
            if len(batch.items) >= self.settings.batch_size:
                yield batch
                batch = Batch(items=[])
        if batch.items:
            yield batch


class MboxFile(_FileSourceBase):
    """An mbox file, read one message at a time."""

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        self._check_path()
        fetched_at = _now()
        box = mailbox.mbox(self.path, create=False)
        batch = Batch(items=[])
        try:
            for index, key in enumerate(box.iterkeys(), start=1):
                raw = box.get_bytes(key)
                origin = f"{self.path.name} message {index}"
                batch.items.append(RawItem(self.name, "email", message_key(raw), raw, fetched_at, origin=origin, size=len(raw)))
                if len(batch.items) >= self.settings.batch_size:
                    yield batch
                    batch = Batch(items=[])
        finally:
            box.close()
        if batch.items:
            yield batch


def open_file_source(name: str, settings: FileSource, path: Path) -> _FileSourceBase:
    kinds = {"twarc": TwarcFile, "tags": TagsSheet, "eml": EmlFolder, "mbox": MboxFile}
    return kinds[settings.type](name, settings, path)
