"""Sources fetch raw items and report checkpoints. None of them parses or stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from harvester.config import Config, FileSource, ImapSource, TwitterSource
from harvester.errors import ConfigError
from harvester.records import Batch


class Source(Protocol):
    """The interface the pipeline uses to fetch from a source."""

    name: str

    def fetch(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Yield batches of raw items, resuming from ``checkpoint``.

        Each batch carries the checkpoint to save once its items are committed.
        A source raises a ``SourceError`` subclass when it fails as a whole.
        """
        ...

    def after_commit(self, batch: Batch) -> None:
        """Act on items once they are stored, such as marking mail seen or moving it."""
        ...

    def close(self) -> None:
        ...


def open_source(config: Config, name: str) -> Source:
    """Build the source named ``name`` from the config."""
    try:
        settings = config.sources[name]
    except KeyError:
        known = ", ".join(sorted(config.sources)) or "none"
        raise ConfigError(f"source {name!r} not found in config; configured sources: {known}") from None

    if isinstance(settings, TwitterSource):
        from sources.twitter import TwitterSearch

        return TwitterSearch(name, settings)
    if isinstance(settings, ImapSource):
        from sources.imap import ImapInbox

        return ImapInbox(name, settings)
    if isinstance(settings, FileSource):
        from sources.files import open_file_source

        return open_file_source(name, settings, config.resolve_path(settings.path))
    raise ConfigError(f"source {name!r} has an unknown type")
