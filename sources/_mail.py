"""Mail helpers shared by the IMAP and file sources."""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_key(raw: bytes) -> str:
    """Return the id a message is stored under: its Message-ID, else a hash of its bytes.

    The Message-ID makes the same mail found twice (after a UIDVALIDITY change, or in
    an mbox and the inbox) one item. Mail without one is keyed by its content.
    """
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536], headersonly=True)
    value = headers.get("Message-ID") or headers.get("Message-Id") or ""
    match = _MESSAGE_ID.search(str(value))
    if match:
        return "mid:" + match.group(1).strip().lower()
    if str(value).strip():
        return "mid:" + str(value).strip().lower()[:400]
    # Servers rewrite line endings on APPEND, so hash with one kind of line ending.
    normalized = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return "sha256:" + hashlib.sha256(normalized).hexdigest()
