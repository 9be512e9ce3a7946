"""The harvester command: exit codes, messages and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harvester.cli import cli
from tests.pages import page, post, user, write_jsonl


def write_config(tmp_path: Path, sources: dict, **extra: object) -> Path:
    path = tmp_path / "config.yaml"
    data = {"database": "sqlite:///stories.db", "sources": sources, **extra}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    pages = [page([post(11, "#ConnectED Mrs Okonkwo showed me how to teach phonics with joy, and I still use her ideas.")],
                  [user("ada_teaches", "Ada Lovelace")])]
    return write_jsonl(tmp_path / "posts.jsonl", pages)


def test_invalid_config_exits_2_naming_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"inbox": {"type": "imap", "host": "localhost"}})

    result = CliRunner().invoke(cli, ["--config", str(config), "run"])

    assert result.exit_code == 2
    assert "sources.inbox.imap.username" in result.output


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.yaml"), "run"])

    assert result.exit_code == 2
    assert "not found" in result.output


def test_unknown_source_option_exits_2(tmp_path: Path, archive: Path) -> None:
    config = write_config(tmp_path, {"posts": {"type": "twarc", "path": str(archive)}})

    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--source", "nope"])

    assert result.exit_code == 2
    assert "--source 'nope'" in result.output


def test_failing_source_exits_1_others_run(tmp_path: Path, archive: Path) -> None:
    sources = {
        "missing": {"type": "twarc", "path": str(tmp_path / "absent.jsonl")},
        "posts": {"type": "twarc", "path": str(archive)},
    }
    config = write_config(tmp_path, sources)

    result = CliRunner().invoke(cli, ["--config", str(config), "run"])

    assert result.exit_code == 1
    assert "missing: fetched 0" in result.output
    assert "absent.jsonl not found" in result.output
    assert "posts: fetched 1, new 1, duplicates 0, quarantined 0, errors 0" in result.output


def test_stories_list_json_fields(tmp_path: Path, archive: Path) -> None:
    config = write_config(tmp_path, {"posts": {"type": "twarc", "path": str(archive)}})
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "run"]).exit_code == 0

    result = runner.invoke(cli, ["--config", str(config), "stories", "list", "--json"])

    assert result.exit_code == 0
    stories = json.loads(result.output)
    assert len(stories) == 1
    story = stories[0]
    for key in ("id", "source", "external_id", "status", "author", "text", "created_at", "tags"):
        assert key in story
    assert story["created_at"] == "2026-11-30T09:15:00Z"
    assert story["status"] == "pending"
    assert {"kind", "text", "start", "end", "method"} <= set(story["tags"][0])


def test_stories_show_unknown_id_exits_2(tmp_path: Path, archive: Path) -> None:
    config = write_config(tmp_path, {"posts": {"type": "twarc", "path": str(archive)}})

    result = CliRunner().invoke(cli, ["--config", str(config), "stories", "show", "999"])

    assert result.exit_code == 2
    assert "story 999 not found" in result.output


def test_config_not_utf8_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"\xff\xfe\x00garbage")

    result = CliRunner().invoke(cli, ["--config", str(config), "run"])

    assert result.exit_code == 2
    assert "not valid UTF-8" in result.output


def test_bad_database_url_exits_2(tmp_path: Path, archive: Path) -> None:
    config = write_config(tmp_path, {"posts": {"type": "twarc", "path": str(archive)}}, database="nosuchdb://foo")

    result = CliRunner().invoke(cli, ["--config", str(config), "run"])

    assert result.exit_code == 2
    assert "database: invalid URL" in result.output


def test_missing_secret_variable_exits_2(tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARVESTER_TEST_NO_SUCH_TOKEN", raising=False)
    sources = {
        "x": {"type": "twitter", "bearer_token_env": "HARVESTER_TEST_NO_SUCH_TOKEN"},
        "posts": {"type": "twarc", "path": str(archive)},
    }
    config = write_config(tmp_path, sources)

    result = CliRunner().invoke(cli, ["--config", str(config), "run"])

    assert result.exit_code == 2
    assert "HARVESTER_TEST_NO_SUCH_TOKEN is not set" in result.output
    assert "posts: fetched 1, new 1" in result.output
