"""The batched harvest stores exactly what a one-item-at-a-time harvest stores.

The corpus is a few hundred generated posts plus the awkward cases batching could
get wrong: a post id seen twice, the same text under two ids in one batch and in
different batches, a retweet and a truncated line. The reference harvest reads the
same posts written one per line into SQLite, so each of its batches contains one
item. The batched harvest runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from benchmarks.corpus import CorpusGenerator
from harvester import pipeline
from sources.files import split_page
from store.models import Person, Quarantined, RawItemRow, Retweet, Story
from tests.conftest import make_app

POSTS = 300
BATCH = 100


def _copy_post(post: dict[str, Any], new_id: int) -> dict[str, Any]:
    twin = copy.deepcopy(post)
    twin["id"] = twin["conversation_id"] = str(new_id)
    twin["edit_history_tweet_ids"] = [str(new_id)]
    twin.pop("referenced_tweets", None)
    return twin


def corpus_lines() -> list[str]:
    """Return generated pages, then a page and a line that repeat or break earlier items."""
    pages = list(CorpusGenerator(seed=7).pages(POSTS, page_size=BATCH))
    first, second = pages[0]["data"], pages[1]["data"]
    users = pages[0]["includes"]["users"] + pages[1]["includes"]["users"]

    # In the second page: the text of its own first post under a new id (same batch).
    second.append(_copy_post(second[0], 1_900_000_000_000_000_001))
    extra = [
        copy.deepcopy(first[5]),  # the same post id again
        _copy_post(
            first[10], 1_900_000_000_000_000_002
        ),  # an earlier batch's text under a new id
        {
            "id": "1900000000000000003",
            "text": "RT @" + users[0]["username"] + ": " + first[0]["text"][:80],
            "author_id": first[1]["author_id"],
            "created_at": "2026-12-01T10:00:00.000Z",
            "referenced_tweets": [{"type": "retweeted", "id": first[0]["id"]}],
        },
    ]
    pages.append({"data": extra, "includes": {"users": users, "tweets": [first[0]]}})
    lines = [json.dumps(page, ensure_ascii=False) for page in pages]
    lines.append('{"data": [{"id": "1900000000000000004", "text": "cut sh')
    return lines


def one_post_per_line(lines: list[str]) -> list[str]:
    """Split each page into pages of one post with its users, so each line is one batch."""
    single = []
    for line in lines:
        try:
            page = json.loads(line)
        except ValueError:
            single.append(line)
            continue
        single += [
            json.dumps(payload, ensure_ascii=False) for _id, payload in split_page(page)
        ]
    return single


def snapshot(app: Any) -> dict[str, Any]:
    """Return everything a harvest stored, keyed by external id instead of row ids."""
    with app.db.read() as session:
        stories = session.scalars(select(Story).options(selectinload(Story.tags))).all()
        external = {story.id: story.external_id for story in stories}
        people = {person.id: person.name for person in session.scalars(select(Person))}
        return {
            # An unreadable line is keyed by a hash of its origin, which names the line number.
            "raw_items": sorted(
                external_id if not external_id.startswith("problem:") else "problem"
                for external_id in session.scalars(select(RawItemRow.external_id))
            ),
            "stories": {
                story.external_id: {
                    "text": story.text,
                    "author": (story.author_name, story.author_handle),
                    "created_at": story.created_at,
                    "classification": (
                        story.classification,
                        story.classification_reason,
                    ),
                    "status": story.status,
                    "duplicate_of": external.get(story.duplicate_of_id)
                    if story.duplicate_of_id
                    else None,
                    "content_hash": story.content_hash,
                    "tags": sorted(
                        (
                            tag.start,
                            tag.end,
                            tag.kind,
                            tag.text,
                            tag.name,
                            tag.method,
                            people.get(tag.person_id),
                        )
                        for tag in story.tags
                    ),
                }
                for story in stories
            },
            "retweets": sorted(session.scalars(select(Retweet.external_id))),
            "quarantine": sorted(
                (row.kind, row.reason) for row in session.scalars(select(Quarantined))
            ),
        }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming") / "posts.jsonl"
    path.write_text("\n".join(corpus_lines()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the store of a harvest that reads, tags and writes one item at a time."""
    folder = tmp_path_factory.mktemp("reference")
    single = folder / "posts.jsonl"
    single.write_text(
        "\n".join(one_post_per_line(corpus_lines())) + "\n", encoding="utf-8"
    )
    app = make_app(
        f"sqlite:///{folder / 'one-by-one.db'}",
        {"posts": {"type": "twarc", "path": str(single), "batch_size": 1}},
    )
    summary = pipeline.harvest(app, "posts")
    assert summary.status == "ok", summary.error
    stored = snapshot(app)
    app.close()
    return stored


def test_reference_covers_the_awkward_cases(reference: dict[str, Any]) -> None:
    stories = reference["stories"]
    duplicates = [story for story in stories.values() if story["status"] == "duplicate"]

    assert len(stories) == POSTS + 2
    assert len(duplicates) == 2
    assert len(reference["retweets"]) == 1
    assert len(reference["quarantine"]) == 1
    assert sum(len(story["tags"]) for story in stories.values()) > POSTS


def test_batched_harvest_matches_one_by_one(
    database_url: str, corpus: Path, reference: dict[str, Any]
) -> None:
    app = make_app(
        database_url,
        {"posts": {"type": "twarc", "path": str(corpus), "batch_size": BATCH}},
    )

    summary = pipeline.harvest(app, "posts")
    batched = snapshot(app)
    app.close()

    assert summary.status == "ok"
    assert summary.new == POSTS
    assert batched["raw_items"] == reference["raw_items"]
    assert batched["retweets"] == reference["retweets"]
    assert batched["quarantine"] == reference["quarantine"]
    assert sorted(batched["stories"]) == sorted(reference["stories"])
    for external_id, expected in reference["stories"].items():
        assert batched["stories"][external_id] == expected, (
            f"story {external_id} differs"
        )
