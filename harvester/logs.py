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
# Shorter values would mask ordinary words; secret() rejects them.
MIN_SECRET_LENGTH = 4


def register_secret_variable(name: str) -> None:
    with _lock:
        _variables.add(name)


def _forms(value: str) -> list[str]:
    """Return the ways a secret can appear in a message: as is, stripped, or escaped by repr."""
    forms = {value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]}
    return sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """Return ``text`` with the value of every registered secret variable masked."""
    with _lock:
        names = list(_variables)
    for name in names:
        value = os.environ.get(name)
        if not value:
            continue
        for form in _forms(value):
            if form in text:
                text = text.replace(form, MASK)
    return text
