"""Consent and attribution: values, names shown, and the consent command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from harvester.cli import cli
from harvester.errors import UsageError
from harvester.export.consent import attribution_name, set_consent
from store.db import Database
from store.models import AuditEvent, Story
from tests.export_support import add_story


@pytest.mark.parametrize(
    ("attribution", "name", "handle", "expected"),
    [
        ("full_name", "Priya Shah", "priya_t", "Priya Shah"),
        ("first_name", "Priya Shah", "priya_t", "Priya"),
        ("handle", "Priya Shah", "@priya_t", "@priya_t"),
        ("anonymous", "Priya Shah", "priya_t", "Anonymous"),
        ("full_name", None, "priya_t", "@priya_t"),
        ("first_name", None, "priya_t", "Anonymous"),
        ("full_name", "priya@example.org", None, "Anonymous"),
        ("handle", "Priya Shah", None, "Anonymous"),
    ],
)
def test_attribution_name(
    attribution: str, name: str | None, handle: str | None, expected: str
) -> None:
    assert (
        attribution_name(attribution, author_name=name, author_handle=handle)
        == expected
    )


def test_set_consent_records_audit(db: Database) -> None:
    story_id = add_story(db, consent="unknown")
    with db.write() as session:
        story = session.get(Story, story_id)
        event = set_consent(
            session, story, "given", "first_name", actor="curator@connectedu.example"
        )
        assert event is not None
        assert set_consent(session, story, "given", "first_name") is None
    with db.read() as session:
        story = session.get(Story, story_id)
        assert (story.consent, story.attribution, story.version) == (
            "given",
            "first_name",
            2,
        )
        event = session.scalars(select(AuditEvent)).one()
        assert event.before == {"consent": "unknown", "attribution": "full_name"}
        assert event.after == {"consent": "given", "attribution": "first_name"}


def test_handle_needs_a_post(db: Database) -> None:
    story_id = add_story(db, kind="email", author_handle=None)
    with db.write() as session:
        story = session.get(Story, story_id)
        with pytest.raises(UsageError, match="attribution 'handle' needs a post"):
            set_consent(session, story, "given", "handle")
        with pytest.raises(UsageError, match="invalid consent 'maybe'"):
            set_consent(session, story, "maybe")


def test_consent_command(db: Database, tmp_path: Path) -> None:
    story_id = add_story(db)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": db.url}))
    runner = CliRunner()

    result = runner.invoke(
        cli, ["--config", str(config), "consent", str(story_id), "--set", "withdrawn"]
    )
    assert result.exit_code == 0, result.output
    assert (
        f"story {story_id}: consent withdrawn, attribution full_name" in result.output
    )

    missing = runner.invoke(
        cli, ["--config", str(config), "consent", "999999", "--set", "given"]
    )
    assert missing.exit_code == 2
    assert "story 999999 not found" in missing.output
