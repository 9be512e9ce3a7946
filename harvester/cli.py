"""The ``harvester`` command: a thin layer over the pipeline, store and web app.

Exit codes: 0 success, 1 a source or command failed (other sources still ran),
2 invalid config or usage.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from harvester.app import App
from harvester.errors import ConfigError, HarvesterError, UsageError

log = logging.getLogger("harvester")

# Modules that add commands to the group: each defines ``register(group)``.
COMMAND_MODULES = [
    "harvester.commands",
    "harvester.schedule_cli",
    "harvester.review.commands",
    "harvester.export.commands",
    "harvester.tagging.commands",
]


class _SecretFilter(logging.Filter):
    """Mask the values of secret environment variables in every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from harvester.logs import redact

        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the traceback now, masked, so the handler prints this text instead.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(verbose: int) -> None:
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class HarvesterGroup(click.Group):
    """Maps harvester errors to exit codes and messages without tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, UsageError) as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)
        except HarvesterError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)


@click.group(cls=HarvesterGroup)
@click.option(
    "--config",
    "config_path",
    default="config.yaml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Configuration file.",
)
@click.option("-v", "--verbose", count=True, help="Log more: -v for progress, -vv for debugging.")
@click.pass_context
def cli(ctx: click.Context, config_path: str, verbose: int) -> None:
    """Collect #ConnectED stories, tag them, and keep them for curators."""
    setup_logging(verbose)
    app = App(config_path, verbose=verbose)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name.rsplit(".", 1)[0]) is None:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            continue
        if spec is None:
            continue
        importlib.import_module(name).register(cli)


_register_all()


def main() -> None:
    cli(prog_name="harvester")
