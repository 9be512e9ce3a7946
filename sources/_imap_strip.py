"""Rebuild an oversize message from its headers and text parts, without attachments.

The IMAP source fetches the BODYSTRUCTURE of a message over the size limit, takes
the parts to fetch from ``plan_text_parts``, fetches only those sections, and calls
``rebuild_message`` to join them into a smaller, valid MIME message. The functions
here do no I/O.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

_DROPPED_HEADERS = re.compile(
    rb"^(content-type|content-transfer-encoding)\s*:", re.IGNORECASE
)


@dataclass
class PartPlan:
    """A multipart node, or a leaf part to fetch by its IMAP section number."""

    section: str
    subtype: str = ""
    children: list[PartPlan] = field(default_factory=list)
    size: int = 0

    @property
    def is_leaf(self) -> bool:
        return not self.subtype

    def leaves(self) -> list[PartPlan]:
        if self.is_leaf:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace").lower()
    return str(value or "").lower()


def _disposition(part: Any) -> str:
    """Return the Content-Disposition type of a single part, such as "attachment"."""
    kind, subtype = _text(part[0]), _text(part[1])
    if kind == "text":
        index = 9
    elif (kind, subtype) == ("message", "rfc822"):
        index = 11
    else:
        index = 8
    if len(part) > index and isinstance(part[index], tuple) and part[index]:
        return _text(part[index][0])
    return ""


def plan_text_parts(structure: Any, budget: int) -> tuple[PartPlan | None, int]:
    """Choose the text and forwarded-mail parts of a multipart BODYSTRUCTURE.

    Parts are kept in order while their total size stays within ``budget`` bytes.
    Returns the plan (``None`` when nothing fits or the message is not multipart)
    and the number of parts left out.
    """
    if not getattr(structure, "is_multipart", False):
        return None, 1
    remaining = [budget]
    dropped = [0]

    def visit(node: Any, section: str) -> PartPlan | None:
        if getattr(node, "is_multipart", False):
            plan = PartPlan(section, subtype=_text(node[1]) or "mixed")
            for number, child in enumerate(node[0], start=1):
                child_section = f"{section}.{number}" if section else str(number)
                kept = visit(child, child_section)
                if kept is not None:
                    plan.children.append(kept)
            return plan if plan.children else None

        kind, subtype = _text(node[0]), _text(node[1])
        size = (
            int(node[6]) if len(node) > 6 and isinstance(node[6], int) else budget + 1
        )
        is_text_or_mail = (kind == "text" and _disposition(node) != "attachment") or (
            kind,
            subtype,
        ) == ("message", "rfc822")
        if not is_text_or_mail or size > remaining[0]:
            dropped[0] += 1
            return None
        remaining[0] -= size
        return PartPlan(section, size=size)

    return visit(structure, ""), dropped[0]


def fetch_items(plan: PartPlan) -> list[str]:
    """Return the FETCH items that read each planned part without setting \\Seen."""
    items = ["BODY.PEEK[HEADER]"]
    for leaf in plan.leaves():
        items += [f"BODY.PEEK[{leaf.section}.MIME]", f"BODY.PEEK[{leaf.section}]"]
    return items


def rebuild_message(plan: PartPlan, response: dict[bytes, Any]) -> bytes:
    """Join the fetched header and parts into one MIME message following ``plan``."""
    header = _strip_content_headers(bytes(response[b"BODY[HEADER]"]))
    boundary = _boundary()
    top = (
        header
        + f'Content-Type: multipart/{plan.subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    )
    return top + _render_children(plan, boundary, response)


def _boundary() -> str:
    return f"=_harvester_{uuid.uuid4().hex}"


def _render_children(
    plan: PartPlan, boundary: str, response: dict[bytes, Any]
) -> bytes:
    out = bytearray()
    for child in plan.children:
        out += f"--{boundary}\r\n".encode()
        if child.is_leaf:
            out += bytes(
                response.get(f"BODY[{child.section}.MIME]".encode()) or b"\r\n"
            )
            out += bytes(response.get(f"BODY[{child.section}]".encode()) or b"")
        else:
            inner = _boundary()
            out += f'Content-Type: multipart/{child.subtype}; boundary="{inner}"\r\n\r\n'.encode()
            out += _render_children(child, inner, response)
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def _strip_content_headers(header: bytes) -> bytes:
    """Remove Content-Type and Content-Transfer-Encoding fields, with their folded lines."""
    kept: list[bytes] = []
    skipping = False
    for line in header.splitlines(keepends=True):
        if not line.strip():
            continue
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(_DROPPED_HEADERS.match(line))
        if not skipping:
            kept.append(line)
    text = b"".join(kept)
    if text and not text.endswith(b"\n"):
        text += b"\r\n"
    return text
