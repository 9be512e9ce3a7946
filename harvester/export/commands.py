"""Commands: export, publish, recheck, forget, purge and consent."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harvester.app import App, pass_app
from harvester.errors import UsageError
from harvester.export.consent import ATTRIBUTIONS, CONSENT_VALUES, set_consent
from harvester.export.erasure import ErasureReport, forget_email, forget_handle
from harvester.export.feeds import (
    ExportSummary,
    export_to_file,
    last_export_time,
    parse_since,
    write_feed,
)
from harvester.export.publish import publish_pending
from harvester.export.recheck import DEFAULT_MAX_REQUESTS, recheck_posts
from harvester.export.retention import purge_expired
from harvester.export.writers import FORMATS, FeedInfo
from store.models import Story


def _echo_held(held: list[tuple[int, list[str]]]) -> None:
    for story_id, reasons in held:
        click.echo(f"held back story {story_id}: {'; '.join(reasons)}", err=True)


@click.command("export")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    required=True,
    help="Feed format to write.",
)
@click.option(
    "--since",
    metavar="LAST|DATE",
    help="Write only stories changed after this time: LAST (the previous export of this format) or an ISO date.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; standard output if omitted.",
)
@click.option("--title", default=FeedInfo.title, show_default=True, help="Feed title.")
@click.option("--home-page-url", help="URL of the site the feed belongs to.")
@pass_app
def export_command(
    app: App,
    format_: str,
    since: str | None,
    out: Path | None,
    title: str,
    home_page_url: str | None,
) -> None:
    """Write approved stories with consent as JSON Feed, Atom or CSV."""
    last = (
        last_export_time(app.db, format_)
        if since and since.strip().upper() == "LAST"
        else None
    )
    since_time = parse_since(since, last)
    info = FeedInfo(title=title, home_page_url=home_page_url)
    summary: ExportSummary
    if out is None:
        summary = write_feed(
            app.db, format_, sys.stdout, since=since_time, info=info, target="stdout"
        )
    else:
        summary = export_to_file(app.db, format_, out, since=since_time, info=info)
    _echo_held(summary.held)
    click.echo(
        f"exported {summary.items} stories and {summary.deletions} deletions as {format_}"
        + (f" to {out}" if out else ""),
        err=True,
    )


@click.command("publish")
@pass_app
def publish_command(app: App) -> None:
    """Send new, changed and withdrawn stories to the community site."""
    summary = publish_pending(app)
    _echo_held(summary.held)
    click.echo(
        f"queued {summary.queued_upserts} upserts and {summary.queued_deletes} deletions; "
        f"delivered {summary.delivered}, failed {summary.failed}"
    )
    if summary.failed:
        raise click.exceptions.Exit(1)


@click.command("recheck")
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_REQUESTS,
    show_default=True,
    help="Maximum X API lookups in this run, 100 posts each.",
)
@pass_app
def recheck_command(app: App, max_requests: int) -> None:
    """Check that released X posts still exist and take back the ones that are gone."""
    summary = recheck_posts(app, max_requests=max_requests)
    click.echo(
        f"checked {summary.checked} posts in {summary.requests} requests; {len(summary.gone)} gone"
    )
    if summary.rate_limited_until:
        click.echo(
            f"rate limited until {summary.rate_limited_until.isoformat()}; run again after that",
            err=True,
        )


def _echo_erasure(report: ErasureReport) -> None:
    click.echo(
        f"removed {len(report.stories)} stories: {', '.join(map(str, report.stories)) or 'none'}"
    )
    click.echo(
        f"removed {report.raw_items} raw items, {report.quarantined} quarantined items, {report.retweets} retweets"
    )
    click.echo(
        f"removed {report.tags} tags, {report.people} people entries, {report.audit_events} audit events"
    )
    click.echo(f"queued {report.deletes_queued} deletions for the community site")
    for column, count in sorted(report.scrubbed.items()):
        click.echo(f"erased the address in {count} row(s) of {column}")
    if report.curator_account:
        click.echo(
            "the address is also a curator login; remove that account separately",
            err=True,
        )


@click.command("forget")
@click.option("--email", help="Sender address to erase.")
@click.option("--handle", help="X handle to erase, with or without @.")
@click.option(
    "--actor",
    default="system",
    show_default=True,
    help="Name recorded on the erasure audit event.",
)
@pass_app
def forget_command(app: App, email: str | None, handle: str | None, actor: str) -> None:
    """Erase one person's stories, raw items and tags, and take back what was published."""
    if bool(email) == bool(handle):
        raise UsageError("pass exactly one of --email ADDRESS or --handle NAME")
    report = (
        forget_email(app.db, email, actor=actor)
        if email
        else forget_handle(app.db, handle or "", actor=actor)
    )
    _echo_erasure(report)


@click.command("purge")
@pass_app
def purge_command(app: App) -> None:
    """Delete rejected stories and quarantined items older than the retention settings."""
    report = purge_expired(app.db, app.config.retention)
    click.echo(
        f"purged {report.stories} rejected stories, {report.quarantined} quarantined items, "
        f"{report.raw_items} raw items; queued {report.deletes_queued} deletions"
    )


@click.command("consent")
@click.argument("story_id", type=int)
@click.option(
    "--set",
    "consent",
    type=click.Choice(CONSENT_VALUES[1:]),
    required=True,
    help="Consent of the author.",
)
@click.option(
    "--attribution",
    type=click.Choice(ATTRIBUTIONS),
    help="Name to publish the story under.",
)
@click.option(
    "--actor",
    default="system",
    show_default=True,
    help="Name recorded on the audit event.",
)
@pass_app
def consent_command(
    app: App, story_id: int, consent: str, attribution: str | None, actor: str
) -> None:
    """Set the consent and attribution of story STORY_ID."""
    with app.db.write() as session:
        story = session.get(Story, story_id)
        if story is None:
            raise UsageError(
                f"story {story_id} not found: check the id on the review page"
            )
        event = set_consent(session, story, consent, attribution, actor=actor)
        attribution = story.attribution
    if event is None:
        click.echo(
            f"story {story_id} already has consent {consent} and attribution {attribution}"
        )
    else:
        click.echo(f"story {story_id}: consent {consent}, attribution {attribution}")


def register(group: click.Group) -> None:
    for command in (
        export_command,
        publish_command,
        recheck_command,
        forget_command,
        purge_command,
        consent_command,
    ):
        group.add_command(command)
