"""Parsing X posts (X API v2 pages, twarc2 flattened posts, TAGS rows) into stories."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from harvester.errors import ItemError
from harvester.parse.post import (
    UNKNOWN_ORIGINAL,
    parse_post,
    snowflake_time,
    unescape_text,
)
from harvester.records import RawItem
from sources.files import split_page
from tests.fixtures.x_api import PostFactory, search_page

FETCHED = datetime(2025, 3, 1, tzinfo=timezone.utc)


def raw_post(
    payload: object, external_id: str = "1", origin: str = "test page 1"
) -> RawItem:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return RawItem("x", "tweet", external_id, data, FETCHED, origin=origin)


def parse_page_posts(page: dict) -> dict[str, object]:
    """Split a page as the sources do and parse each post; return id -> Story."""
    return {
        post_id: parse_post(raw_post(payload, post_id))
        for post_id, payload in split_page(page)
    }


@pytest.fixture
def factory() -> PostFactory:
    return PostFactory(start=datetime(2025, 2, 20, 8, 0, tzinfo=timezone.utc))


def test_post_author_url_and_utc_time(factory: PostFactory) -> None:
    amara = factory.teacher(0)
    post = factory.post(amara, "Mrs Patel believed in me #ConnectED", lang="en")
    story = parse_page_posts(search_page([post], factory.users, {}))[post["id"]]

    assert story.text == "Mrs Patel believed in me #ConnectED"
    assert story.author_name == "Amara Okafor"
    assert story.author_handle == "amara_teaches"
    assert story.url == f"https://x.com/amara_teaches/status/{post['id']}"
    assert story.created_at == datetime(2025, 2, 20, 8, 7, tzinfo=timezone.utc)
    assert story.created_at.tzinfo is not None
    assert story.language == "en"
    assert story.conversation_id == post["id"]
    assert story.kind == "tweet"
    assert story.retweet_of is None


def test_long_post_uses_note_tweet(factory: PostFactory) -> None:
    author = factory.teacher(2)
    factory.teacher(3)
    note = (
        "When I started teaching I nearly quit in my first term. @hwright_head sat with me every Friday, "
        "talked me through behaviour plans and later pushed me to apply for the NPQLT. "
    ) * 3
    post = factory.long_post(author, note)
    story = parse_page_posts(search_page([post], factory.users, {}))[post["id"]]

    assert post["text"].endswith("…")
    assert story.text == note
    assert story.mentions == {"hwright_head": "helen wright"}


def test_retweet_takes_original_full_text(factory: PostFactory) -> None:
    original_author, retweeter = factory.teacher(0), factory.teacher(1)
    note = (
        "Our head of maths, Ms Achebe, ran the Early Career Framework sessions with real warmth. "
        * 5
    )
    original = factory.long_post(original_author, note)
    retweet = factory.retweet(retweeter, original)
    page = search_page([retweet], factory.users, {original["id"]: original})
    story = parse_page_posts(page)[retweet["id"]]

    assert story.external_id == retweet["id"]
    assert story.retweet_of == original["id"]
    assert story.text == note
    assert story.author_handle == "mr_nowak_maths"
    assert story.defects == []


def test_retweet_without_original_keeps_text(factory: PostFactory) -> None:
    original = factory.post(
        factory.teacher(0), "Thank you Mr Evans for the NPQH coaching"
    )
    retweet = factory.retweet(factory.teacher(1), original)
    story = parse_page_posts(search_page([retweet], factory.users, {}))[retweet["id"]]

    assert story.retweet_of == original["id"]
    assert story.text.startswith("RT @amara_teaches: ")
    assert any("not included" in defect for defect in story.defects)


def test_reply_quote_and_mentions(factory: PostFactory) -> None:
    amara, tomasz, priya = factory.teacher(0), factory.teacher(1), factory.teacher(2)
    first = factory.post(amara, "Who inspired you to teach? #ConnectED")
    quoted = factory.post(priya, "My mentor taught me to plan backwards from the test")
    reply = factory.post(
        tomasz,
        "@amara_teaches @PriyaRaman_edu did, without a doubt",
        reply_to=first,
        quote_of=quoted,
    )
    story = parse_page_posts(
        search_page([reply], factory.users, {first["id"]: first, quoted["id"]: quoted})
    )[reply["id"]]

    assert story.in_reply_to == first["id"]
    assert story.quoted == quoted["id"]
    assert story.conversation_id == first["id"]
    assert story.references == [first["id"], quoted["id"]]
    assert story.mentions == {
        "amara_teaches": "Amara Okafor",
        "priyaraman_edu": "Priya Raman",
    }
    assert story.text.startswith("@amara_teaches")


def test_escaped_text_is_unescaped(factory: PostFactory) -> None:
    post = factory.post(
        factory.teacher(4),
        "Science &amp; maths &lt;3 thanks to Mr Hughes &gt; everyone",
    )
    story = parse_page_posts(search_page([post], factory.users, {}))[post["id"]]
    assert story.text == "Science & maths <3 thanks to Mr Hughes > everyone"
    assert unescape_text("&amp;lt;") == "&lt;"


def test_flattened_post_reads_inline_objects() -> None:
    flat = {
        "id": "1761000000000000001",
        "text": "RT @dafydd_science: Thanks @lucia_mfl for the language…",
        "author_id": "11",
        "created_at": "2024-02-23T10:00:00.000Z",
        "lang": "en",
        "author": {"id": "11", "name": "Samuel Mensah", "username": "smensah_senco"},
        "entities": {
            "mentions": [
                {
                    "start": 3,
                    "end": 18,
                    "username": "dafydd_science",
                    "id": "12",
                    "name": "Dafydd Owen",
                }
            ]
        },
        "referenced_tweets": [
            {
                "type": "retweeted",
                "id": "1760000000000000000",
                "text": "Thanks @lucia_mfl for the language club that changed my year 9s",
                "author_id": "12",
                "entities": {
                    "mentions": [
                        {
                            "start": 7,
                            "end": 17,
                            "username": "lucia_mfl",
                            "id": "13",
                            "name": "Lucía Fernández",
                        }
                    ]
                },
                "author": {
                    "id": "12",
                    "name": "Dafydd Owen",
                    "username": "dafydd_science",
                },
            }
        ],
    }
    page_items = dict(split_page(flat))
    story = parse_post(
        raw_post(page_items["1761000000000000001"], "1761000000000000001")
    )

    assert story.author_name == "Samuel Mensah"
    assert story.retweet_of == "1760000000000000000"
    assert (
        story.text == "Thanks @lucia_mfl for the language club that changed my year 9s"
    )
    assert story.mentions == {
        "lucia_mfl": "Lucía Fernández",
        "dafydd_science": "Dafydd Owen",
    }


def test_missing_created_at_uses_post_id() -> None:
    post = {
        "id": "1440716895355764743",
        "text": "A story without a time",
        "author_id": "1",
    }
    story = parse_post(raw_post({"data": post, "includes": {}}, post["id"]))
    assert story.created_at == snowflake_time(post["id"])
    assert story.created_at.year == 2021
    assert story.defects == ["created_at missing: the time was taken from the post id"]
    assert story.url == "https://x.com/i/status/1440716895355764743"


def test_tags_row_story() -> None:
    row = {
        "id_str": "1251954312772812801",
        "from_user": "graceoneill_ey",
        "text": "Mrs Kaur showed me how play builds language @smensah_senco &amp; I still use it #ConnectED",
        "created_at": "Sun Apr 19 19:22:23 +0000 2020",
        "time": "2020-04-19T20:22:23Z",
        "user_lang": "NA",
        "in_reply_to_status_id_str": "1251950000000000000",
        "status_url": "http://twitter.com/graceoneill_ey/statuses/1251954312772812801",
        "entities_str": json.dumps(
            {
                "user_mentions": [
                    {"screen_name": "smensah_senco", "name": "Samuel Mensah"}
                ]
            }
        ),
    }
    story = parse_post(raw_post({"tags_row": row}, row["id_str"]))

    assert story.created_at == datetime(2020, 4, 19, 19, 22, 23, tzinfo=timezone.utc)
    assert story.author_handle == "graceoneill_ey"
    assert (
        story.text
        == "Mrs Kaur showed me how play builds language @smensah_senco & I still use it #ConnectED"
    )
    assert story.url == "https://x.com/graceoneill_ey/status/1251954312772812801"
    assert story.in_reply_to == "1251950000000000000"
    assert story.mentions == {"smensah_senco": "Samuel Mensah"}
    assert story.retweet_of is None
    assert story.language is None


def test_tags_retweet_row() -> None:
    row = {
        "id_str": "1248064163211096064",
        "from_user": "lucia_mfl",
        "text": "RT @amara_teaches: Ms Bello made me love poetry…",
        "created_at": "Thu Apr 09 01:44:19 +0000 2020",
        "entities_str": "NA",
    }
    story = parse_post(raw_post({"tags_row": row}, row["id_str"]))
    assert story.retweet_of == UNKNOWN_ORIGINAL
    assert story.in_reply_to is None
    assert story.mentions == {}


def test_tags_row_bad_date_uses_post_id() -> None:
    row = {
        "id_str": "1248064163211096064",
        "from_user": "lucia_mfl",
        "text": "Thank you Mr Osei",
        "created_at": "yesterday",
    }
    story = parse_post(raw_post({"tags_row": row}, row["id_str"]))
    assert story.created_at == snowflake_time("1248064163211096064")
    assert story.defects and "invalid created_at" in story.defects[0]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"data": {"id": "1", "te', "invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"meta": {}}', "neither an X API v2 post"),
        (b'{"data": {"id": "1440716895355764743"}}', "has no text"),
        (b'{"data": {"text": "no id"}}', "has no id"),
        (b'{"data": {"id": "12", "text": "old"}}', "no created_at"),
        (b'{"tags_row": {"id_str": "abc", "text": "x"}}', "invalid id_str"),
        (
            b'{"tags_row": {"id_str": "1248064163211096064", "text": "NA"}}',
            "has no text",
        ),
        (b'{"tags_row": "a string"}', "not a mapping"),
    ],
)
def test_unreadable_payload_raises_item_error(payload: bytes, expected: str) -> None:
    with pytest.raises(ItemError) as caught:
        parse_post(raw_post(payload, origin="tweets.jsonl line 7"))
    assert expected in str(caught.value)
    assert caught.value.item == "tweets.jsonl line 7"


def test_shipped_samples_parse() -> None:
    import csv
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "examples"
    stories = []
    for line in (examples / "tweets.jsonl").read_bytes().splitlines():
        stories.extend(parse_page_posts(json.loads(line)).values())
    with (examples / "tags.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sheet = [parse_post(raw_post({"tags_row": row}, row["id_str"])) for row in rows]

    assert len(stories) == 20
    assert len(sheet) == 8
    assert sum(story.retweet_of is not None for story in stories) == 2
    assert sum(story.retweet_of == UNKNOWN_ORIGINAL for story in sheet) == 1
    assert any(len(story.text) > 280 for story in stories)
    assert all(story.defects == [] for story in stories + sheet)
    assert all(story.author_handle for story in stories + sheet)
