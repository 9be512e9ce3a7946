"""Builders for X API v2 response pages used by the pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def post(post_id: int, text: str, author: str = "ada_teaches", **fields: Any) -> dict[str, Any]:
    """Return a post in the v2 shape with the fields harvester requests."""
    data: dict[str, Any] = {
        "id": str(post_id),
        "text": text,
        "author_id": f"u-{author}",
        "created_at": "2026-11-30T09:15:00.000Z",
        "conversation_id": str(post_id),
        "lang": "en",
        "entities": {"hashtags": [{"start": 0, "end": 10, "tag": "ConnectED"}]},
    }
    data.update(fields)
    return data


def user(handle: str, name: str) -> dict[str, str]:
    return {"id": f"u-{handle}", "username": handle, "name": name}


def page(posts: list[dict[str, Any]], users: list[dict[str, str]], tweets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ids = [int(item["id"]) for item in posts]
    return {
        "data": posts,
        "includes": {"users": users, "tweets": tweets or []},
        "meta": {"result_count": len(posts), "newest_id": str(max(ids)), "oldest_id": str(min(ids))},
    }


def write_jsonl(path: Path, pages: list[dict[str, Any]], extra_lines: list[str] = ()) -> Path:
    lines = [json.dumps(item) for item in pages] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
