"""Parse one email raw item into a story.

``parse_message`` reads RFC 822 bytes with the standard ``email`` package
(``policy.default``) and tolerates real mail. A header that does not parse is read
raw, and a text part in an unknown or wrong charset is decoded by fallback. Each such
guess is recorded in ``Story.defects``. It raises ``ItemError`` only when the bytes
hold no headers and no body at all.
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import UTC, datetime
from email.headerregistry import BaseHeader
from email.policy import EmailPolicy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from harvester.errors import ItemError
from harvester.parse.mail_text import (
    cut_quotes,
    decode_part,
    html_to_text,
    sanitize_html,
)
from harvester.records import RawItem, Story


class _ReusingPolicy(EmailPolicy):
    """``policy.default``, except that a header parsed once is reused.

    The ``email`` package parses a header again each time it is read, and finding the
    body of one message reads its Content-Type headers about 15 times (measured on
    generated two-part mail). Parsed headers never change, so sharing one is safe.
    """

    def header_fetch_parse(self, name: str, value: str) -> BaseHeader:
        if hasattr(value, "name"):
            return value  # parsed already, by header_store_parse
        return _parsed_header(self, name, value)


@lru_cache(maxsize=4096)
def _parsed_header(policy: EmailPolicy, name: str, value: str) -> BaseHeader:
    return EmailPolicy.header_fetch_parse(policy, name, value)


MAIL_POLICY = _ReusingPolicy()

# Headers that tell a person's mail from an automatic one (RFC 3834 and common
# vendor headers). They are copied into ``Story.auto_headers`` for ``classify``.
AUTOMATION_HEADERS = (
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "X-Apple-Action",
    "Precedence",
    "X-Precedence",
    "X-Failed-Recipients",
    "Return-Path",
    "List-Id",
    "List-Unsubscribe",
)

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw)\s*:", re.IGNORECASE)
# NOTE: only the English Gmail and Apple Mail markers are recognized. Other clients
# and languages (Thunderbird's "-------- Перенаправленное сообщение --------") stay as text.
_FORWARD_MARKER = re.compile(
    r"^\s*(-{4,}\s*forwarded message\s*-{4,}|begin forwarded message:)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_FORWARD_NOTE = 400
_UNQUOTED_BOUNDARY = re.compile(rb"(boundary=)([^\"\s;]*=[^\s;]*)", re.IGNORECASE)
# A display name of plain words and the address in angle brackets, or a bare address.
# Quotes, comments, encoded words, commas and non-ASCII text go to the full parser.
_PLAIN_ADDRESS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_SIMPLE_ADDRESS = re.compile(
    rf"[ \t]*(?:(?P<name>[A-Za-z0-9' \t-]*?)[ \t]*<(?P<address>{_PLAIN_ADDRESS})>"
    rf"|(?P<bare>{_PLAIN_ADDRESS}))[ \t]*"
)
_PSEUDO_HEADER = re.compile(
    r"^\s*(from|date|sent|subject|to|cc|reply-to)\s*:\s*(.*)$", re.IGNORECASE
)


def parse_message(raw: RawItem) -> Story:
    """Parse the RFC 822 bytes of ``raw`` into a ``Story`` (pure, no I/O)."""
    where = raw.origin or raw.external_id
    if not raw.payload or not raw.payload.strip():
        raise ItemError(where, "the message is empty: check the source mailbox or file")
    message = BytesParser(policy=MAIL_POLICY).parsebytes(raw.payload)
    if not message.keys() and not message.get_payload():
        raise ItemError(
            where, "no mail headers or body found: the file is not an RFC 822 message"
        )

    defects = [f"message: {type(defect).__name__}" for defect in message.defects]
    repaired = _repair_boundary(raw.payload, message)
    if repaired is not None:
        message = repaired
        defects.append("message: unquoted MIME boundary containing '=' read as quoted")
    story = Story(
        source=raw.source,
        external_id=raw.external_id,
        kind="email",
        text="",
        created_at=_fallback_date(raw),
        subject=_header_text(message, "Subject", defects),
        content_type=message.get_content_type(),
        auto_headers=_automation_headers(message, defects),
        in_reply_to=_first_message_id(_header_text(message, "In-Reply-To", defects)),
        references=_message_ids(_header_text(message, "References", defects)),
        defects=defects,
    )
    story.author_name, story.author_email = _author(message, defects)
    date = _header_date(message, defects)
    if date is not None:
        story.created_at = date
    else:
        used = "INTERNALDATE" if raw.received_at else "fetch time"
        defects.append(f"missing or invalid Date header; used the {used}")

    author_message = _forwarded_message(message)
    if author_message is not None:
        _use_forwarded_message(story, author_message, defects)
        body_source = author_message
    else:
        body_source = message

    text, html = _body(body_source, defects)
    if author_message is None:
        text = _open_inline_forward(story, text, defects)
    story.text = cut_quotes(text)
    story.html = html
    return story


def _repair_boundary(payload: bytes, message: EmailMessage) -> EmailMessage | None:
    """Re-read mail whose unquoted boundary contains ``=``, which ``policy.default`` cuts.

    Outlook Express wrote ``boundary=----=_NextPart_...`` without quotes. The value
    is invalid MIME, but real mail carries it, and without this repair the body is lost.
    """
    if (
        not message.get_content_type().startswith("multipart/")
        or message.is_multipart()
    ):
        return None
    head, separator, body = payload.partition(b"\n\n")
    if not separator:
        head, separator, body = payload.partition(b"\r\n\r\n")
    fixed, count = _UNQUOTED_BOUNDARY.subn(rb'\1"\2"', head)
    if not count:
        return None
    repaired = BytesParser(policy=MAIL_POLICY).parsebytes(fixed + separator + body)
    return repaired if repaired.is_multipart() else None


def _fallback_date(raw: RawItem) -> datetime:
    return _as_utc(raw.received_at or raw.fetched_at)


def _as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive time (``-0000`` in mail) is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _header_text(message: EmailMessage, name: str, defects: list[str]) -> str | None:
    """Return a header as text, reading it raw when ``policy.default`` cannot parse it."""
    try:
        value = message.get(name)
    # The email package raises many exception types on broken headers.
    except Exception as error:  # noqa: BLE001
        defects.append(
            f"{name} header does not parse ({type(error).__name__}); read raw"
        )
        value = _raw_header(message, name)
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _raw_header(message: EmailMessage, name: str) -> str | None:
    value = _first_raw(message, name)
    if value is None:
        return None
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeError, LookupError, ValueError):
        return value


def _first_raw(message: EmailMessage, name: str) -> str | None:
    """Return the first ``name`` header as written in the mail, still folded and encoded."""
    lowered = name.lower()
    for key, value in message.raw_items():
        if key.lower() == lowered:
            return value
    return None


def _automation_headers(message: EmailMessage, defects: list[str]) -> dict[str, str]:
    found = {}
    for name in AUTOMATION_HEADERS:
        value = _header_text(message, name, defects)
        if value is not None:
            found[name] = value
    found["Content-Type"] = message.get_content_type()
    report_type = message.get_param("report-type")
    if isinstance(report_type, str):
        found["Content-Type"] += f"; report-type={report_type}"
    return found


def _first_message_id(value: str | None) -> str | None:
    ids = _message_ids(value)
    return ids[0] if ids else None


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    return _MESSAGE_ID.findall(value)


def _author(message: EmailMessage, defects: list[str]) -> tuple[str | None, str | None]:
    for name in ("From", "Sender", "Reply-To"):
        simple = _simple_address(_first_raw(message, name))
        if simple is not None:
            return simple
        value = _header_text(message, name, defects)
        if value:
            return _parse_address(value)
    defects.append("no From, Sender or Reply-To header")
    return None, None


def _simple_address(value: str | None) -> tuple[str | None, str | None] | None:
    """Read ``Jane Smith <jane@example.org>`` or a bare address without the header parser.

    ``policy.default`` builds a full parse tree for every address header, which took
    about a fifth of an IMAP harvest without NLP in a profile. A header in one of
    these two plain ASCII forms gives the same name and address as the full parser. Any other header
    returns ``None``, so the caller uses the full parser.
    """
    if value is None:
        return None
    match = _SIMPLE_ADDRESS.fullmatch(value)
    if match is None:
        return None
    name = " ".join((match.group("name") or "").split()) or None
    address = match.group("address") or match.group("bare")
    return name, address.lower()


def _parse_address(value: str) -> tuple[str | None, str | None]:
    addresses = [
        (name, address) for name, address in getaddresses([value]) if name or address
    ]
    if not addresses:
        return value.strip() or None, None
    name, address = addresses[0]
    address = address.strip() or None
    if address and "@" not in address:
        # "From: Jane Smith" without an address parses as a local part.
        return (name or address), None
    return (name.strip() or None), (address.lower() if address else None)


def _header_date(message: EmailMessage, defects: list[str]) -> datetime | None:
    # policy.default's Date header parses with parsedate_to_datetime too, then builds
    # a parse tree of the formatted date, which is not needed here.
    raw = _raw_header(message, "Date")
    if not raw:
        return None
    try:
        return _as_utc(parsedate_to_datetime(raw))
    except (TypeError, ValueError, IndexError):
        return None


def _forwarded_message(message: EmailMessage) -> EmailMessage | None:
    """Return the attached ``message/rfc822`` that a forward carries, if any.

    A delivery report (``multipart/report``) also attaches the original mail, but
    that mail is not the story, so reports are left closed.
    """
    if message.get_content_type() == "multipart/report" or not message.is_multipart():
        return None
    for part in message.walk():
        if part.get_content_type() != "message/rfc822":
            continue
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            inner = inner[0]
        # Some clients base64-encode the attached mail, which the email package leaves
        # unparsed; such a part has no From header and is not opened.
        if isinstance(inner, EmailMessage) and (
            inner.get("From") or inner.get("Sender")
        ):
            return inner
    return None


def _use_forwarded_message(
    story: Story, inner: EmailMessage, defects: list[str]
) -> None:
    inner_defects: list[str] = []
    name, address = _author(inner, inner_defects)
    if name or address:
        story.author_name, story.author_email = name, address
    subject = _header_text(inner, "Subject", inner_defects)
    if subject:
        story.subject = subject
    date = _header_date(inner, inner_defects)
    if date is not None:
        story.created_at = date
    defects.extend(f"forwarded message: {defect}" for defect in inner_defects)


def _body(message: EmailMessage, defects: list[str]) -> tuple[str, str | None]:
    """Return the story text and the sanitized HTML body (``None`` without HTML)."""
    plain_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = None
    if html_part is not None:
        html = decode_part(html_part, "text/html part", defects)

    if plain_part is not None:
        text = decode_part(plain_part, "text/plain part", defects)
        if text.strip() or html is None:
            return text, sanitize_html(html) if html else None
    if html is not None:
        return html_to_text(html), sanitize_html(html)

    if not message.is_multipart() and message.get_content_maintype() == "text":
        return decode_part(message, f"{message.get_content_type()} body", defects), None
    defects.append("no text/plain or text/html body")
    return "", None


def _open_inline_forward(story: Story, text: str, defects: list[str]) -> str:
    """Use the forwarded mail pasted into ``text`` after a "Forwarded message" marker.

    The pseudo headers after the marker give the original author, subject and date,
    and the text after them becomes the story text.
    """
    match = _FORWARD_MARKER.search(text)
    if match is None:
        return text
    # A long text above the marker is the sender's own story, so the forward stays.
    subject_marks_forward = bool(story.subject and _FORWARD_SUBJECT.match(story.subject))
    if (
        not subject_marks_forward
        and len(text[: match.start()].strip()) > _MAX_FORWARD_NOTE
    ):
        return text

    lines = text[match.end() :].lstrip("\r\n").splitlines()
    headers: dict[str, str] = {}
    index = 0
    while index < len(lines):
        header = _PSEUDO_HEADER.match(lines[index])
        if header is None:
            break
        headers[header.group(1).lower()] = header.group(2).strip()
        index += 1
    if "from" not in headers:
        return text

    story.author_name, story.author_email = _parse_address(headers["from"])
    if headers.get("subject"):
        story.subject = headers["subject"]
    date_text = headers.get("date") or headers.get("sent")
    if date_text:
        try:
            story.created_at = _as_utc(parsedate_to_datetime(date_text))
        except (TypeError, ValueError, IndexError):
            defects.append(f"forwarded message: date {date_text!r} does not parse")
    return "\n".join(lines[index:])
