"""The story inbox: fetch new mail from one IMAP folder with imapclient.

The checkpoint is ``{"folder", "uidvalidity", "last_uid"}``. A run fetches UIDs above
``last_uid``. When the folder's UIDVALIDITY differs from the checkpoint, every UID is
fetched again, and the store drops the mail it already has because an email's
external id is its Message-ID (``sources._mail.message_key``).

Mail is read with ``BODY.PEEK[]``, so harvesting never sets ``\\Seen``. The config's
``after`` setting acts only on stored items, once their batch is committed:

- ``none`` leaves the mail as it is.
- ``seen`` sets ``\\Seen``.
- ``move:FOLDER`` uses the MOVE command (RFC 6851). A server without MOVE is rejected
  when the source connects, because COPY followed by ``\\Deleted`` and EXPUNGE is a
  delete, and this source never deletes mail.

Oversize mail (over ``max_message_bytes``) is never fetched whole. With
``oversize: strip`` only its headers and text parts are fetched; with
``oversize: quarantine``, or when no text part fits, it becomes a ``Problem`` with
its size and UID and stays unread in the folder.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from harvester.config import ImapSource, secret
from harvester.errors import PermanentSourceError, SourceError, TransientSourceError
from harvester.records import Batch, Problem, RawItem
from sources._imap_strip import fetch_items, plan_text_parts, rebuild_message
from sources._mail import message_key

log = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3
_FETCH_META = ["RFC822.SIZE", "INTERNALDATE"]


class ImapInbox:
    """One IMAP folder as a source of story mail."""

    # Seconds between connection attempts grow from ``retry_wait_min`` up to
    # ``retry_wait_max``; tests lower them.
    retry_wait_min = 1.0
    retry_wait_max = 8.0

    def __init__(self, name: str, settings: ImapSource) -> None:
        self.name = name
        self.settings = settings
        self._client: IMAPClient | None = None
        self._move_to = (
            settings.after[len("move:") :]
            if settings.after.startswith("move:")
            else None
        )

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Yield batches of new mail; each carries the checkpoint of its last UID."""
        client = self._connect()
        folder = self.settings.folder
        with self._errors(f"selecting folder {folder!r}"):
            selected = client.select_folder(
                folder, readonly=self.settings.after == "none"
            )
        uidvalidity = int(selected[b"UIDVALIDITY"])

        last_uid = 0
        if checkpoint and checkpoint.get("folder") == folder:
            if int(checkpoint.get("uidvalidity") or 0) == uidvalidity:
                last_uid = int(checkpoint.get("last_uid") or 0)
            else:
                log.warning(
                    "source %s: UIDVALIDITY of %s changed from %s to %s; fetching every message again "
                    "(stored mail is skipped by Message-ID)",
                    self.name,
                    folder,
                    checkpoint.get("uidvalidity"),
                    uidvalidity,
                )

        with self._errors(f"searching {folder!r}"):
            uids = sorted(
                uid
                for uid in client.search(["UID", f"{last_uid + 1}:*"])
                if uid > last_uid
            )
        log.info(
            "source %s: %d new message(s) in %s after UID %d",
            self.name,
            len(uids),
            folder,
            last_uid,
        )

        for start in range(0, len(uids), self.settings.batch_size):
            chunk = uids[start : start + self.settings.batch_size]
            yield from self._fetch_chunk(client, chunk, uidvalidity)

    def after_commit(self, batch: Batch) -> None:
        """Mark the batch's stored mail seen or move it, as the ``after`` setting selects."""
        if self.settings.after == "none" or not batch.items or self._client is None:
            return
        uids = [_uid_from_origin(item.origin) for item in batch.items]
        uids = [uid for uid in uids if uid is not None]
        if not uids:
            return
        client = self._client
        if self._move_to is not None:
            with self._errors(f"moving {len(uids)} message(s) to {self._move_to!r}"):
                client.move(uids, self._move_to)
            log.info(
                "source %s: moved %d message(s) to %s",
                self.name,
                len(uids),
                self._move_to,
            )
        else:
            with self._errors(f"marking {len(uids)} message(s) seen"):
                client.add_flags(uids, [b"\\Seen"], silent=True)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (IMAPClientError, OSError) as error:
            log.debug("source %s: logout failed: %s", self.name, error)
            try:
                client.shutdown()
            except OSError:
                pass

    # Connection

    def _connect(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        retrying = Retrying(
            stop=stop_after_attempt(CONNECT_ATTEMPTS),
            wait=wait_exponential(min=self.retry_wait_min, max=self.retry_wait_max),
            retry=retry_if_exception_type(TransientSourceError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        self._client = retrying(self._open_session)
        return self._client

    def _log_retry(self, state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "source %s: connection attempt %d failed (%s); retrying",
            self.name,
            state.attempt_number,
            error,
        )

    def _open_session(self) -> IMAPClient:
        settings = self.settings
        password = secret(
            settings.password_env, f"IMAP password of {settings.username}"
        )
        host, port = settings.host, settings.effective_port
        context = (
            ssl.create_default_context(cafile=settings.ca_file)
            if settings.security != "plain"
            else None
        )
        log.info(
            "source %s: connecting to %s:%d (%s)",
            self.name,
            host,
            port,
            settings.security,
        )

        with self._errors(f"connecting to {host}:{port}"):
            client = IMAPClient(
                host,
                port=port,
                ssl=settings.security == "tls",
                ssl_context=context,
                timeout=settings.timeout,
            )
        client.normalise_times = False
        try:
            if settings.security == "starttls":
                with self._errors(f"starting TLS with {host}:{port}"):
                    client.starttls(context)
            try:
                client.login(settings.username, password)
            except LoginError:
                raise PermanentSourceError(
                    self.name,
                    f"login failed for {settings.username} at {host}: check username and the "
                    f"{settings.password_env} variable",
                ) from None
            with self._errors("checking folders"):
                self._check_folders(client)
        except BaseException:
            try:
                client.shutdown()
            except OSError:
                pass
            raise
        return client

    def _check_folders(self, client: IMAPClient) -> None:
        settings = self.settings
        if not client.folder_exists(settings.folder):
            raise PermanentSourceError(
                self.name,
                f"folder {settings.folder!r} not found on {settings.host}: fix 'folder' in config.yaml",
            )
        if self._move_to is None:
            return
        if not client.has_capability("MOVE"):
            raise PermanentSourceError(
                self.name,
                f"after: move needs the IMAP MOVE command, which {settings.host} does not offer; "
                "use after: seen or after: none",
            )
        if not client.folder_exists(self._move_to):
            raise PermanentSourceError(
                self.name,
                f"folder {self._move_to!r} for after: move not found on {settings.host}: create it",
            )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn network and IMAP errors into transient or permanent source errors."""
        host = self.settings.host
        try:
            yield
        except SourceError:
            raise
        except ssl.SSLCertVerificationError as error:
            raise PermanentSourceError(
                self.name,
                f"{action}: the TLS certificate of {host} is not trusted ({error.verify_message}): "
                "set ca_file in config.yaml to the CA that signed it",
            ) from error
        except TimeoutError as error:
            raise TransientSourceError(
                self.name,
                f"{action}: timed out after {self.settings.timeout} s; the next run retries",
            ) from error
        except IMAPClientAbortError as error:
            self._client = None
            raise TransientSourceError(
                self.name,
                f"{action}: the server closed the connection ({error}); the next run retries",
            ) from error
        except IMAPClientError as error:
            raise PermanentSourceError(
                self.name, f"{action} failed: {error}"
            ) from error
        except (ssl.SSLError, OSError) as error:
            self._client = None
            raise TransientSourceError(
                self.name, f"{action} failed: {error}; the next run retries"
            ) from error

    # Fetching

    def _fetch_chunk(
        self, client: IMAPClient, uids: list[int], uidvalidity: int
    ) -> Iterator[Batch]:
        """Fetch ``uids`` in order and yield batches of at most about ``max_message_bytes``.

        Each message, or what is kept of an oversize one, is under the limit, so a
        batch contains less than twice the limit. A batch's checkpoint is the last UID
        it covers, which includes quarantined and vanished UIDs.
        """
        limit = self.settings.max_message_bytes
        with self._errors(f"reading sizes of {len(uids)} message(s)"):
            meta = client.fetch(uids, _FETCH_META)

        group: list[int] = []
        extra = Batch(items=[])
        pending_bytes = 0
        for index, uid in enumerate(uids):
            data = meta.get(uid)
            if data is None:
                log.info(
                    "source %s: UID %d vanished before it was fetched", self.name, uid
                )
            elif int(data.get(b"RFC822.SIZE") or 0) > limit:
                item, problem = self._fetch_oversize(client, uid, data)
                if item is not None:
                    extra.items.append(item)
                    pending_bytes += len(item.payload)
                if problem is not None:
                    extra.problems.append(problem)
            else:
                group.append(uid)
                pending_bytes += int(data.get(b"RFC822.SIZE") or 0)

            if pending_bytes >= limit or index == len(uids) - 1:
                batch = (
                    self._fetch_group(client, group, meta) if group else Batch(items=[])
                )
                batch.items.extend(extra.items)
                batch.problems.extend(extra.problems)
                batch.checkpoint = self._checkpoint(uidvalidity, uid)
                yield batch
                group, extra, pending_bytes = [], Batch(items=[]), 0

    def _fetch_group(
        self, client: IMAPClient, uids: list[int], meta: dict[int, Any]
    ) -> Batch:
        with self._errors(f"fetching {len(uids)} message(s)"):
            bodies = client.fetch(uids, ["BODY.PEEK[]"])
        fetched_at = datetime.now(UTC)
        items = []
        for uid in uids:
            raw = (bodies.get(uid) or {}).get(b"BODY[]")
            if raw is None:
                log.info(
                    "source %s: UID %d returned no body; it may have been deleted",
                    self.name,
                    uid,
                )
                continue
            raw = bytes(raw)
            items.append(self._raw_item(uid, raw, meta.get(uid) or {}, fetched_at))
        return Batch(items=items)

    def _fetch_oversize(
        self, client: IMAPClient, uid: int, meta: dict[bytes, Any]
    ) -> tuple[RawItem | None, Problem | None]:
        settings = self.settings
        size = int(meta.get(b"RFC822.SIZE") or 0)
        origin = self._origin(uid)
        reason = f"message is {size} bytes, over the limit of {settings.max_message_bytes} (max_message_bytes)"

        if settings.oversize == "strip":
            with self._errors(f"reading the structure of UID {uid}"):
                structure = client.fetch([uid], ["BODYSTRUCTURE"])[uid][
                    b"BODYSTRUCTURE"
                ]
            plan, dropped = plan_text_parts(structure, settings.max_message_bytes)
            if plan is not None:
                with self._errors(f"fetching the text parts of UID {uid}"):
                    response = client.fetch([uid], fetch_items(plan))[uid]
                raw = rebuild_message(plan, response)
                log.info(
                    "source %s: %s: %s; kept its text, dropped %d part(s)",
                    self.name,
                    origin,
                    reason,
                    dropped,
                )
                item = self._raw_item(
                    uid, raw, meta, datetime.now(UTC), attachments_dropped=True
                )
                return item, None
            reason += "; no text part fits within the limit"

        with self._errors(f"fetching the header of UID {uid}"):
            header = bytes(
                client.fetch([uid], ["BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"]
            )
        log.warning("source %s: %s quarantined: %s", self.name, origin, reason)
        problem = Problem(
            self.name,
            origin,
            reason + "; it was left unread in the folder",
            payload=header,
            kind="email",
            verdict="oversize",
            external_id=message_key(header),
        )
        return None, problem

    def _raw_item(
        self,
        uid: int,
        raw: bytes,
        meta: dict[bytes, Any],
        fetched_at: datetime,
        *,
        attachments_dropped: bool = False,
    ) -> RawItem:
        received = meta.get(b"INTERNALDATE")
        if isinstance(received, datetime):
            received = (
                received.replace(tzinfo=UTC)
                if received.tzinfo is None
                else received.astimezone(UTC)
            )
        else:
            received = None
        size = meta.get(b"RFC822.SIZE")
        return RawItem(
            source=self.name,
            kind="email",
            external_id=message_key(raw),
            payload=raw,
            fetched_at=fetched_at,
            origin=self._origin(uid),
            received_at=received,
            size=int(size) if size is not None else len(raw),
            attachments_dropped=attachments_dropped,
        )

    def _origin(self, uid: int) -> str:
        return f"{self.settings.folder} uid {uid}"

    def _checkpoint(self, uidvalidity: int, last_uid: int) -> dict[str, Any]:
        return {
            "folder": self.settings.folder,
            "uidvalidity": uidvalidity,
            "last_uid": last_uid,
        }


def _uid_from_origin(origin: str) -> int | None:
    _, _, number = origin.rpartition(" uid ")
    return int(number) if number.isdigit() else None
