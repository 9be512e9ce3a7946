"""Build the gold JSONL set from its marked-up source, so every offset is exact.

Each source line is ``STYLE || MENTIONS || TEXT``. STYLE is ``post`` or ``email``;
MENTIONS is empty or ``@handle=Display Name`` pairs separated by ``;``; TEXT marks
spans as ``[[p:Mrs Okonkwo]]`` (person) or ``[[t:NPQH]]`` (training), and ``\\n``
stands for a line break. Lines starting with ``#`` are comments.

Run ``python -m harvester.tagging.gold`` to rewrite ``data/gold.jsonl``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
MARK = re.compile(r"\[\[([pt]):([^\]]+)\]\]")
LABELS = {"p": "person", "t": "training"}


def parse_line(line: str, number: int) -> dict[str, Any]:
    """Turn one marked-up line into a gold record with character offsets."""
    try:
        style, mentions_field, marked = (part.strip() for part in line.split("||", 2))
    except ValueError:
        raise ValueError(
            f"line {number}: expected 'STYLE || MENTIONS || TEXT'"
        ) from None
    if style not in ("post", "email"):
        raise ValueError(f"line {number}: style must be post or email, not {style!r}")
    mentions = {}
    for pair in filter(None, (item.strip() for item in mentions_field.split(";"))):
        handle, _, name = pair.partition("=")
        mentions[handle.strip().lstrip("@")] = name.strip()

    marked = marked.replace("\\n", "\n")
    parts: list[str] = []
    spans = []
    position = 0
    cursor = 0
    for match in MARK.finditer(marked):
        parts.append(marked[cursor : match.start()])
        position += match.start() - cursor
        content = match.group(2)
        spans.append(
            {
                "start": position,
                "end": position + len(content),
                "label": LABELS[match.group(1)],
                "text": content,
            }
        )
        parts.append(content)
        position += len(content)
        cursor = match.end()
    parts.append(marked[cursor:])
    text = "".join(parts)
    if "[[" in text:
        raise ValueError(f"line {number}: unclosed [[ mark")
    return {
        "id": f"{style}-{number}",
        "style": style,
        "text": text,
        "mentions": mentions,
        "spans": spans,
    }


def build(source: Path, target: Path) -> int:
    """Write the gold JSONL for ``source`` to ``target``; return the number of texts."""
    records = []
    for number, line in enumerate(
        source.read_text(encoding="utf-8").splitlines(), start=1
    ):
        if line.strip() and not line.startswith("#"):
            records.append(parse_line(line, number))
    with target.open("w", encoding="utf-8") as output:
        for record in records:
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


if __name__ == "__main__":
    count = build(DATA / "gold.txt", DATA / "gold.jsonl")
    print(f"wrote {count} gold texts to {DATA / 'gold.jsonl'}", file=sys.stderr)
