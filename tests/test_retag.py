"""Tagging stored stories again: fresh automatic tags, curator decisions kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from harvester import pipeline
from harvester.retag import retag
from harvester.review import actions
from harvester.review.accounts import CuratorInfo
from store.models import Curator, Story, TagRow
from tests.conftest import make_app
from tests.pages import page, post, user, write_jsonl

TEXT = "#ConnectED Mrs Amara Okonkwo mentored me through the NPQH and never once doubted me."


def harvested_app(sqlite_url: str, tmp_path: Path):
    archive = write_jsonl(tmp_path / "posts.jsonl", [page([post(7, TEXT)], [user("ada_teaches", "Ada Lovelace")])])
    app = make_app(sqlite_url, {"posts": {"type": "twarc", "path": str(archive)}})
    pipeline.harvest(app, "posts")
    with app.db.write() as session:
        curator = Curator(email="curator@example.org", password_hash="unused", role="curator")
        session.add(curator)
        session.flush()
        info = CuratorInfo(id=curator.id, email=curator.email, role=curator.role)
    return app, info


def tags_of(app, story_id: int) -> list[tuple[str, str, str]]:
    with app.db.read() as session:
        rows = session.scalars(select(TagRow).where(TagRow.story_id == story_id).order_by(TagRow.start))
        return [(tag.kind, tag.text, tag.method) for tag in rows]


def test_retag_restores_deleted_automatic_tags(sqlite_url: str, tmp_path: Path) -> None:
    app, _ = harvested_app(sqlite_url, tmp_path)
    with app.db.read() as session:
        story_id = session.scalars(select(Story.id)).one()
    before = tags_of(app, story_id)
    with app.db.write() as session:
        for tag in session.scalars(select(TagRow)):
            session.delete(tag)

    counts = retag(app)

    assert counts["stories"] == 1
    assert tags_of(app, story_id) == before
    assert ("training", "NPQH", "gazetteer") in before


def test_retag_keeps_curator_removals(sqlite_url: str, tmp_path: Path) -> None:
    app, curator = harvested_app(sqlite_url, tmp_path)
    with app.db.read() as session:
        story = session.scalars(select(Story)).one()
        training = next(tag for tag in story.tags if tag.kind == "training")
        story_id, tag_id = story.id, training.id

    actions.remove_tag(app.db, curator, story_id, tag_id)
    retag(app)

    assert all(kind != "training" for kind, _, _ in tags_of(app, story_id))
