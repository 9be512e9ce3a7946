"""Core commands: ``run``, ``stories list``, ``stories show`` and ``retag``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from harvester.app import App, pass_app
from harvester.errors import UsageError
from store.models import RawItemRow, Story
from store.queries import iso_utc, story_author, story_to_dict

STATUSES = ("pending", "approved", "rejected", "needs_consent", "published", "duplicate")


@click.command("run")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Harvest only this source (repeatable).")
@pass_app
def run_command(app: App, sources: tuple[str, ...]) -> None:
    """Harvest every enabled source once (or only --source NAME)."""
    from harvester.pipeline import harvest

    names = list(sources) or app.config.enabled_sources()
    for name in names:
        if name not in app.config.sources:
            known = ", ".join(sorted(app.config.sources)) or "none"
            raise UsageError(f"--source {name!r} is not in the config; configured sources: {known}")
    if not names:
        raise UsageError("no enabled sources in the config: add one under 'sources' or set enabled: true")

    failed = False
    invalid_config = False
    for name in names:
        progress = _progress(name)
        summary = harvest(app, name, on_batch=progress.update if progress else None)
        if progress:
            progress.close()
        click.echo(summary.line())
        failed = failed or summary.failed
        invalid_config = invalid_config or summary.invalid_config
    if invalid_config:
        sys.exit(2)
    if failed:
        sys.exit(1)


class _Progress:
    """A tqdm bar counting fetched items, shown only on a terminal."""

    def __init__(self, name: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(desc=name, unit=" items", leave=False, file=sys.stderr)
        self.seen = 0

    def update(self, summary: Any) -> None:
        self.bar.update(summary.fetched - self.seen)
        self.seen = summary.fetched

    def close(self) -> None:
        self.bar.close()


def _progress(name: str) -> _Progress | None:
    return _Progress(name) if sys.stderr.isatty() else None


@click.group("stories")
def stories_group() -> None:
    """List and show stored stories."""


@stories_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only stories with this status.")
@click.option("--source", help="Only stories from this source.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many stories.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@pass_app
def list_command(app: App, status: str | None, source: str | None, limit: int | None, as_json: bool) -> None:
    """List stories, newest first."""
    query = select(Story).options(selectinload(Story.tags)).order_by(Story.created_at.desc(), Story.id.desc())
    if status:
        query = query.where(Story.status == status)
    if source:
        query = query.where(Story.source == source)
    if limit:
        query = query.limit(limit)

    with app.db.read() as session:
        if as_json:
            _write_json_array(story_to_dict(story) for story in session.scalars(query))
            return
        count = 0
        for story in session.scalars(query):
            count += 1
            _echo_story_line(story)
        if count == 0:
            click.echo("No stories yet. Run `harvester run` to harvest the configured sources.")


def _write_json_array(items: Any) -> None:
    out = sys.stdout
    out.write("[")
    for index, item in enumerate(items):
        out.write(",\n" if index else "\n")
        out.write(json.dumps(item, ensure_ascii=False))
    out.write("\n]\n")


def _echo_story_line(story: Story) -> None:
    people = sorted({tag.name or tag.text for tag in story.tags if tag.kind == "person"})
    training = sorted({tag.name or tag.text for tag in story.tags if tag.kind == "training"})
    text = " ".join(story.text.split())
    click.echo(f"#{story.id} [{story.status}] {iso_utc(story.created_at)} {story.source} {story_author(story) or 'unknown'}")
    click.echo(f"    {text[:160]}{'...' if len(text) > 160 else ''}")
    if people or training:
        click.echo(f"    people: {', '.join(people) or '-'}; training: {', '.join(training) or '-'}")


@stories_group.command("show")
@click.argument("story_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON.")
@click.option("--raw", is_flag=True, help="Also print the raw item as received.")
@pass_app
def show_command(app: App, story_id: int, as_json: bool, raw: bool) -> None:
    """Show one story with its tags and classification."""
    with app.db.read() as session:
        story = session.get(Story, story_id)
        if story is None:
            raise UsageError(f"story {story_id} not found: list ids with `harvester stories list`")
        if as_json:
            click.echo(json.dumps(story_to_dict(story), ensure_ascii=False, indent=2))
        else:
            click.echo(f"Story #{story.id} from {story.source} ({story.kind}, external id {story.external_id})")
            click.echo(f"Status:         {story.status}")
            click.echo(f"Classification: {story.classification} {('- ' + story.classification_reason) if story.classification_reason else ''}")
            click.echo(f"Author:         {story_author(story) or 'unknown'}")
            click.echo(f"Date:           {iso_utc(story.created_at)}")
            if story.subject:
                click.echo(f"Subject:        {story.subject}")
            if story.url:
                click.echo(f"Link:           {story.url}")
            click.echo(f"Consent:        {story.consent} (attribution: {story.attribution})")
            click.echo("")
            click.echo(story.text)
            click.echo("")
            for tag in story.tags:
                label = f" -> {tag.name}" if tag.name and tag.name != tag.text else ""
                click.echo(f"  {tag.kind:8} {tag.text!r}{label} [{tag.start}:{tag.end}] by {tag.method}")
            for defect in story.defects or []:
                click.echo(f"  defect: {defect}")
        if raw and story.raw_item_id:
            item = session.get(RawItemRow, story.raw_item_id)
            if item is not None:
                click.echo("\n--- raw item ---")
                click.echo(item.payload.decode("utf-8", errors="replace"))


@click.command("retag")
@click.option("--source", help="Only stories from this source.")
@click.option("--reparse", is_flag=True, help="Parse the raw items again first; curator-edited text is kept.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True, help="Stories per transaction.")
@pass_app
def retag_command(app: App, source: str | None, reparse: bool, batch_size: int) -> None:
    """Tag stored stories again after a gazetteer, model or parser change; curator tags are kept."""
    from harvester.retag import retag

    counts = retag(app, source=source, reparse=reparse, batch_size=batch_size)
    click.echo(f"retagged {counts['stories']} stories: {counts['tags']} tags, {counts['reparsed']} texts updated")


def register(group: click.Group) -> None:
    group.add_command(run_command)
    group.add_command(stories_group)
    group.add_command(retag_command)
