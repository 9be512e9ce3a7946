"""Run ``harvester run`` with the X API faked by ``responses``, for the crash test to kill.

Usage: python -m tests.crash_harvest FAKE_X.json CONFIG.yaml

FAKE_X.json contains ``{"users": {...}, "posts": [...]}``. The pagination tokens the
fake hands out are kept in FAKE_X.cursors.json, so a next_token saved by a killed
process is still valid in the next one, as it would be at the real API.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import responses

from harvester.cli import main as harvester_main
from tests.fixtures.x_api import LOOKUP_URL, SEARCH_URL, FakeXApi, _Cursor


def _load_cursors(api: FakeXApi, path: Path) -> None:
    if path.exists():
        for token, cursor in json.loads(path.read_text(encoding="utf-8")).items():
            api._cursors[token] = _Cursor(**cursor)


def _save_cursors(api: FakeXApi, path: Path) -> None:
    # Write and rename, so a kill half way through leaves the old file whole.
    partial = path.with_suffix(".partial")
    partial.write_text(
        json.dumps({token: asdict(cursor) for token, cursor in api._cursors.items()}),
        encoding="utf-8",
    )
    os.replace(partial, path)


def main() -> None:
    fake_path, config = Path(sys.argv[1]), sys.argv[2]
    data = json.loads(fake_path.read_text(encoding="utf-8"))
    api = FakeXApi()
    api.factory.users.update(data["users"])
    api.add(*data["posts"])
    cursor_path = fake_path.with_suffix(".cursors.json")
    _load_cursors(api, cursor_path)
    os.environ["X_BEARER_TOKEN"] = api.bearer_token

    def respond(request: Any) -> tuple[int, dict[str, str], str]:
        status, headers, body = api.handle(
            request.method, request.url, dict(request.headers)
        )
        _save_cursors(api, cursor_path)
        return (
            status,
            {"content-type": "application/json; charset=utf-8", **headers},
            json.dumps(body),
        )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback("GET", SEARCH_URL, callback=respond)
        mock.add_callback("GET", LOOKUP_URL, callback=respond)
        sys.argv = ["harvester", "--config", config, "-v", "run"]
        harvester_main()


if __name__ == "__main__":
    main()
