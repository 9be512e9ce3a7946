"""``harvester serve`` and ``harvester curators add|list|disable|passwd``."""

from __future__ import annotations

import logging

import click

from harvester.app import App, pass_app
from harvester.errors import UsageError
from harvester.review.decisions import ReviewError

log = logging.getLogger(__name__)


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Send cookies over HTTPS only (behind a TLS proxy).",
)
@pass_app
def serve_command(app: App, host: str, port: int, secure_cookies: bool) -> None:
    """Serve the curator review page with uvicorn."""
    import uvicorn

    from harvester.review import create_app

    api = create_app(app, secure_cookies=secure_cookies)
    click.echo(f"Serving the review page on http://{host}:{port}/ (stop with Ctrl-C)", err=True)
    log.info("review page starting on http://%s:%d", host, port)
    uvicorn.run(
        api,
        host=host,
        port=port,
        log_level="info" if app.verbose else "warning",
        proxy_headers=False,
    )
    log.info("review page stopped")


@click.group("curators")
def curators_group() -> None:
    """Manage curator accounts of the review page."""


@curators_group.command("add")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["curator", "admin"]),
    default="curator",
    show_default=True,
    help="Admins can also manage curators on the review page.",
)
@pass_app
def add_command(app: App, email: str, role: str) -> None:
    """Create a curator account; the password is asked for twice."""
    from harvester.review.accounts import add_curator

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        curator = add_curator(app.db, email, password, role)
    except ReviewError as error:
        raise UsageError(str(error)) from None
    click.echo(f"added {curator.role} {curator.email}")


@curators_group.command("list")
@pass_app
def list_command(app: App) -> None:
    """List curator accounts."""
    from harvester.review.accounts import list_curators

    curators = list_curators(app.db)
    if not curators:
        click.echo(
            "no curators yet: add one with `harvester curators add EMAIL --role admin`"
        )
        return
    for curator in curators:
        state = "active" if curator.active else "disabled"
        since = curator.created_at.strftime("%Y-%m-%d") if curator.created_at else ""
        click.echo(f"{curator.email}\t{curator.role}\t{state}\t{since}")


@curators_group.command("disable")
@click.argument("email")
@pass_app
def disable_command(app: App, email: str) -> None:
    """Disable a curator account; its sessions end at the next request."""
    from harvester.review.accounts import update_curator

    try:
        curator = update_curator(app.db, email, active=False)
    except ReviewError as error:
        raise UsageError(str(error)) from None
    click.echo(f"disabled {curator.email}")


@curators_group.command("passwd")
@click.argument("email")
@pass_app
def passwd_command(app: App, email: str) -> None:
    """Set a curator's password and end their sessions; the password is asked for twice."""
    from harvester.review.accounts import set_password

    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        curator = set_password(app.db, email, password)
    except ReviewError as error:
        raise UsageError(str(error)) from None
    click.echo(f"changed the password of {curator.email}: their sessions have ended")


def register(group: click.Group) -> None:
    group.add_command(serve_command)
    group.add_command(curators_group)
