"""Text helpers for mail parsing: charset fallback, HTML to text, quote and signature cuts.

All functions are pure. They take and return strings or bytes, and report what they
had to guess as defect strings that the caller stores in ``Story.defects``.
"""

from __future__ import annotations

import codecs
import re
from email.message import EmailMessage
from typing import Any, ClassVar

import charset_normalizer
import html2text
import nh3
from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage as ThreadMessage

# Remote images in a curator's browser would tell the sender when the mail was read.
_SAFE_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}

# Reply headers ("On Mon, 2 Apr 2012, Megan <m@example.org> wrote:") in the languages
# mail-parser-reply supports. Android's Russian client and bottom-posted replies slip
# past that library, so ``cut_quotes`` also removes quoted lines on its own.
_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs", "ru"]
_reply_parser = EmailReplyParser(languages=_REPLY_LANGUAGES)


class LineStartPattern:
    """A reply header pattern that is tried only where a reply header can begin.

    mail-parser-reply finds reply headers with one pattern of some twenty alternatives,
    and ``findall`` tries all of them at every character of the body: 0.7 ms per
    generated story mail, measured, against 0.15 ms here. Each alternative begins at
    a line start, at a newline, or (Danish Outlook) at a
    "-----Oprindelig meddelelse-----" line, so ``findall`` here tries only those
    places and returns what the pattern's own ``findall`` returns.
    NOTE: this rests on the shape of mail-parser-reply 1.36's patterns. The tests
    compare both scans on hand-written and real mail.
    """

    _DANISH_SEPARATOR = re.compile(r"-----Oprindelig meddelelse-----", re.IGNORECASE)

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def findall(self, text: str) -> list[Any]:
        found: list[Any] = []
        end = 0
        for start in self._starts(text):
            if start < end:
                continue
            match = self.pattern.match(text, start)
            if match is None:
                continue
            if match.end() == start:
                # The library's patterns cannot match empty text. If a later version
                # can, the full scan keeps the results the same.
                return self.pattern.findall(text)
            found.append(self._result(match))
            end = match.end()
        return found

    def _result(self, match: re.Match[str]) -> Any:
        """Return what ``findall`` lists for ``match``: the text, one group, or all groups."""
        if self.pattern.groups == 0:
            return match.group()
        if self.pattern.groups == 1:
            return match.group(1) or ""
        return match.groups(default="")

    def _starts(self, text: str) -> list[int]:
        starts = {0}
        position = text.find("\n")
        while position >= 0:
            starts.add(position)
            starts.add(position + 1)
            position = text.find("\n", position + 1)
        starts.update(match.start() for match in self._DANISH_SEPARATOR.finditer(text))
        return sorted(starts)


class _ReplyMessage(ThreadMessage):
    """mail-parser-reply's message, with its three compiled patterns shared by all messages.

    The library builds, compiles and logs its patterns again for every message, which
    took about a third of its time on generated story mail. The header pattern is
    wrapped in ``LineStartPattern``.
    NOTE: this sets private attributes of mail-parser-reply 1.36. A version without
    them makes the sharing do nothing, not fail.
    """

    _shared: ClassVar[tuple[Any, Any, Any] | None] = None

    def read(self) -> ThreadMessage:
        if _ReplyMessage._shared is not None:
            self._header_regex, self._disclaimers_regex, self._signature_regex = _ReplyMessage._shared
        elif hasattr(self, "_header_regex"):
            _ReplyMessage._shared = (
                LineStartPattern(self.HEADER_REGEX),
                self.DISCLAIMERS_REGEX,
                self.SIGNATURE_REGEX,
            )
            self._header_regex = _ReplyMessage._shared[0]
        return super().read()

_ATTRIBUTION_HINT = re.compile(r"@|\d{1,2}:\d{2}|\d{4}")
_SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_SENT_FROM = re.compile(
    r"^(sent|get outlook|envoyé|gesendet) (from|with|de|von) .{1,60}$", re.IGNORECASE
)


def decode_part(part: EmailMessage, where: str, defects: list[str]) -> str:
    """Decode a text part, falling back when its charset is unknown or wrong.

    Tries the declared charset, then UTF-8, then the charset that charset-normalizer
    detects, then cp1252 with replacement characters. Each fallback adds a defect.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    declared = part.get_content_charset() or "us-ascii"

    try:
        codecs.lookup(declared)
    except LookupError:
        defects.append(f"{where}: unknown charset {declared!r}")
    else:
        try:
            return payload.decode(declared)
        except UnicodeDecodeError:
            defects.append(f"{where}: text is not valid {declared}")

    try:
        text = payload.decode("utf-8")
        defects.append(f"{where}: decoded as utf-8")
        return text
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(payload).best()
    if best is not None and best.encoding:
        defects.append(f"{where}: decoded as {best.encoding} (detected)")
        return str(best)
    defects.append(f"{where}: decoded as cp1252 with replacement characters")
    return payload.decode("cp1252", errors="replace")


def html_to_text(html: str) -> str:
    """Convert an HTML body to plain text, keeping paragraphs and ``>`` quote marks."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    return converter.handle(html)


def sanitize_html(html: str) -> str:
    """Return HTML safe to show a curator: no scripts, styles, event handlers or images."""
    return nh3.clean(html, tags=_SAFE_TAGS)


def cut_quotes(text: str) -> str:
    """Return the newest reply in ``text`` without quoted mail, reply headers or signature.

    mail-parser-reply splits the thread and separates the signature. Quoted lines
    (``>``) that it leaves, such as in bottom-posted replies, are removed here with
    the reply header line just above them.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NOTE: the library also takes a short closing line such as "Thank you, Mr Ellison."
    # for a signature, so a story's last sentence can be lost.
    replies = _ReplyMessage(text=text, languages=list(_reply_parser.languages)).read().replies
    newest = replies[0].body if replies else text
    lines = _drop_quoted_lines(newest.split("\n"))
    lines = _drop_signature(lines)
    return "\n".join(lines).strip()


def _drop_quoted_lines(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if not line.lstrip().startswith(">"):
            kept.append(line)
            continue
        _drop_attribution(kept)
    return kept


def _drop_attribution(kept: list[str]) -> None:
    """Remove the "... wrote:" header, up to two lines, that introduces a quote."""
    index = len(kept) - 1
    while index >= 0 and not kept[index].strip():
        index -= 1
    if index < 0 or not kept[index].rstrip().endswith(":"):
        return
    start = index
    if index > 0 and kept[index - 1].strip() and kept[index - 1].rstrip().endswith("<"):
        start = index - 1
    header = " ".join(kept[start : index + 1])
    if _ATTRIBUTION_HINT.search(header):
        del kept[start:]


def _drop_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) and index > 0:
            lines = lines[:index]
            break
    while lines and (not lines[-1].strip() or _SENT_FROM.match(lines[-1].strip())):
        lines = lines[:-1]
    return lines
