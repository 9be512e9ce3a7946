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

MAX_FIELD_CHARS = 16 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


def compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def split_page(page: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Split one X API v2 response page into one payload per post.

    Each payload keeps the post with the users and referenced posts it points to, so
    it can be parsed later without the rest of the page.

    A page may hold a list of posts (search), one post (filtered stream), or be one
    post already flattened by ``twarc2 flatten`` with its author inline. A post
    without a valid id is yielded with ``None`` in place of the id, so the
    caller can report it.
    """
    if "data" not in page and "id" in page:
        yield post_id(page), {"data": page, "includes": {}}
        return
    includes = page.get("includes") or {}
    users = {user.get("id"): user for user in includes.get("users") or []}
    tweets = {tweet.get("id"): tweet for tweet in includes.get("tweets") or []}
    posts = page.get("data") or []
    if not isinstance(posts, list):
        posts = [posts]

    for tweet in posts:
        if not isinstance(tweet, dict) or post_id(tweet) is None:
            yield None, {"data": tweet, "includes": {}}
            continue
        user_ids = {tweet.get("author_id")}
        for mention in (tweet.get("entities") or {}).get("mentions") or []:
            user_ids.add(mention.get("id"))
        referenced = []
        for reference in tweet.get("referenced_tweets") or []:
            original = tweets.get(reference.get("id"))
            if original is not None:
                referenced.append(original)
                user_ids.add(original.get("author_id"))
                for mention in (original.get("entities") or {}).get("mentions") or []:
                    user_ids.add(mention.get("id"))
        payload = {
            "data": tweet,
            "includes": {
                "users": [users[uid] for uid in sorted(filter(None, user_ids)) if uid in users],
                "tweets": referenced,
            },
        }
        yield post_id(tweet), payload


def post_id(post: dict[str, Any]) -> str | None:
    """Return a post's id as a string of ASCII digits, or None when it has no valid id."""
    value = post.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text if text.isascii() and text.isdigit() else None


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
                    if isinstance(error, dict):
                        detail = error.get("title") or error.get("detail")
                        log.info("source %s: %s reports an API error: %s", self.name, origin, detail)
                try:
                    posts = list(split_page(page))
                except (AttributeError, TypeError) as error:
                    reason = f"not in the X API v2 shape ({error}); check the file was written by twarc2"
                    batch.problems.append(Problem(self.name, origin, reason, line[:100_000]))
                    continue
                for index, (external_id, payload) in enumerate(posts, start=1):
                    if external_id is None:
                        reason = f"post {index} has no valid id; it was kept in quarantine"
                        batch.problems.append(Problem(self.name, origin, reason, compact_json(payload)))
                        continue
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
        try:
            yield from self._read_rows(fetched_at)
        except UnicodeDecodeError as error:
            raise PermanentSourceError(
                self.name, f"{self.path} is not UTF-8 ({error.reason}): save the sheet as CSV UTF-8 and run again"
            ) from None
        except csv.Error as error:
            raise PermanentSourceError(self.name, f"{self.path} is not a readable CSV file: {error}") from None

    def _read_rows(self, fetched_at: datetime) -> Iterator[Batch]:
        # A long post with its entities can pass the csv module's default 128 KiB field limit.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
        batch = Batch(items=[])
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "id_str" not in reader.fieldnames or "text" not in reader.fieldnames:
                raise PermanentSourceError(
                    self.name, f"{self.path} is not a TAGS sheet: the header must include id_str and text"
                )
            for number, row in enumerate(reader, start=2):
                origin = f"{self.path.name} row {number}"
                extra = row.pop(None, None)  # type: ignore[call-overload]
                if extra:
                    row["_extra_fields"] = extra
                external_id = (row.get("id_str") or "").strip()
                if not (external_id.isascii() and external_id.isdigit()):
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
            if not path.is_file():
                continue
            # TODO: apply a size limit like the IMAP source's max_message_bytes to archive mail.
            raw = path.read_bytes()
            # A file name that is not valid UTF-8 is kept readable with escapes.
            origin = str(path.relative_to(self.path)).encode("utf-8", "backslashreplace").decode("utf-8")
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
        index = 0
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
        elif index == 0 and self.path.stat().st_size > 0:
            raise PermanentSourceError(
                self.name, f"no messages found in {self.path}: an mbox file starts each message with a 'From ' line"
            )


def open_file_source(name: str, settings: FileSource, path: Path) -> _FileSourceBase:
    kinds = {"twarc": TwarcFile, "tags": TagsSheet, "eml": EmlFolder, "mbox": MboxFile}
    return kinds[settings.type](name, settings, path)
