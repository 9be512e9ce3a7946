"""Tagging: people and training courses found in stories, and the people they refer to.

The names below are imported on first use, so commands that never tag do not pay
for importing spaCy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Tagger": "harvester.tagging.tagger",
    "link_people": "harvester.tagging.people",
    "link_training": "harvester.tagging.training",
    "load_pipeline": "harvester.tagging.nlp",
    "merge_people": "harvester.tagging.people",
    "split_alias": "harvester.tagging.people",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
