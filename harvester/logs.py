"""Keep secrets out of logs, errors and exports.

Every environment variable that config.yaml names as a secret (``*_env`` keys) is
registered here; ``redact`` replaces its value wherever it appears.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_variables: set[str] = set()
MASK = "[secret]"


def register_secret_variable(name: str) -> None:
    with _lock:
        _variables.add(name)


def redact(text: str) -> str:
    """Return ``text`` with the value of every registered secret variable masked."""
    with _lock:
        names = list(_variables)
    for name in names:
        value = os.environ.get(name)
        if value and len(value) >= 4 and value in text:
            text = text.replace(value, MASK)
    return text
