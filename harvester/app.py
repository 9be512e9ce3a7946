"""The state a CLI command, the scheduler or the web app shares: config, database, tagger."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from harvester.config import Config, load_config
from harvester.errors import ConfigError
from store.db import Database

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Loads the config on first use and opens the database once."""

    def __init__(self, config_path: str | Path = "config.yaml", verbose: int = 0) -> None:
        self.config_path = Path(config_path)
        self.verbose = verbose
        self._config: Config | None = None
        self._db: Database | None = None
        self._tagger: Any = None

    @classmethod
    def from_config(cls, config: Config) -> App:
        app = cls()
        app._config = config
        return app

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def db(self) -> Database:
        if self._db is None:
            url = self.config.database_url
            try:
                self._db = Database(url)
            except (ArgumentError, NoSuchModuleError) as error:
                raise ConfigError(f"database: invalid URL ({error}): use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB") from None
        return self._db

    @property
    def tagger(self) -> Any:
        """Return the spaCy tagger, loaded once because loading takes seconds."""
        if self._tagger is None:
            from harvester.tagging import Tagger

            self._tagger = Tagger.from_config(self.config, db=self.db)
            # The model's 150,000 or so objects live as long as the process. Frozen, they
            # are no longer walked by each full collection, which took about 0.09 s with
            # them, 32 times in a harvest of 30,000 posts (measured on this project's 2-core VM).
            gc.freeze()
        return self._tagger

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


def pass_app(function: F) -> F:
    """Hand the command the shared ``App`` as its first argument."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(App)
        return function(app, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
