"""Write the sample inputs ``examples/tweets.jsonl`` and ``examples/tags.csv``.

Every person, handle and story here is fictional. The output is deterministic, so
running the script again rewrites the same files. Run it from the repository root
with the test extra installed, because it reuses the post builder of the fake X API:

    .venv/bin/python examples/make_samples.py
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.x_api import PostFactory, search_page  # noqa: E402

START = datetime(2025, 3, 3, 7, 30, tzinfo=timezone.utc)
PAGE_SIZE = 8

LONG_STORY = (
    "Who inspired me to teach? Mrs Adaeze Nwosu, my year 6 teacher in Peckham. She kept a box of "
    "second-hand books under her desk and let us take them home with no deadline. Twenty years later "
    "I run our school's reading programme, and last month I finished my NPQLT with @priyaraman_edu as "
    "my facilitator, who reminded me of her in every session: patient, funny, and completely certain "
    "that every child can read. Thank you both. 📚❤️ #ConnectED"
)


def build_posts(factory: PostFactory) -> list[dict[str, Any]]:
    """Return the posts of the sample week, oldest first."""
    amara, tomasz, priya, helen, dafydd, grace, samuel, lucia = (
        factory.teacher(index) for index in range(8)
    )
    post = factory.post
    posts: list[dict[str, Any]] = []

    opener = post(
        helen,
        "Curators' question for the week: who inspired you to become a teacher? Tell us below #ConnectED",
    )
    posts.append(opener)
    posts.append(
        post(
            amara,
            "Mr Julian Okonkwo, my A level chemistry teacher, stayed after school twice a week "
            "so I could retake my practicals. I teach chemistry now because of him. #ConnectED",
            reply_to=opener,
        )
    )
    long_post = factory.long_post(lucia, LONG_STORY)
    posts.append(long_post)
    posts.append(
        post(
            tomasz,
            "@hwright_head for me it was ms. rebecca lowe. she taught maths like it was a story "
            "with a twist at the end 😄 #ConnectED",
            reply_to=opener,
        )
    )
    posts.append(
        post(
            grace,
            "Shout out to @smensah_senco who mentored me through the Early Career Framework. "
            "Every Friday debrief made the next week possible. #ConnectED",
        )
    )
    posts.append(factory.retweet(samuel, long_post))
    posts.append(
        post(
            dafydd,
            "Dr Siân Pritchard ran my PGCE science placement and taught me that a failed "
            "experiment is still a lesson. Diolch, Siân! #ConnectED",
            lang="en",
        )
    )
    posts.append(
        post(
            priya,
            "Finishing my NPQH this term. The person who told me to apply was our old deputy "
            "head, Mrs Farida Haddad 🙏 #ConnectED",
        )
    )
    posts.append(
        post(
            helen,
            "So many lovely replies already. Keep them coming &amp; tag the people who "
            "helped you #ConnectED",
        )
    )
    posts.append(
        post(
            samuel,
            "As a SENCO I owe everything to Ms Carol Baptiste, who showed me how to write an "
            "EHCP that actually sounds like the child. #ConnectED",
        )
    )
    quoted = posts[4]
    posts.append(
        post(
            lucia,
            "Same here: the ECF mentor sessions with @smensah_senco were the best CPD I have had "
            "#ConnectED",
            quote_of=quoted,
        )
    )
    posts.append(
        post(
            amara,
            "@graceoneill_ey and @lucia_mfl, we should nominate Mr Okonkwo for a community "
            "award 🏆 #ConnectED",
        )
    )
    posts.append(
        post(
            tomasz,
            "Mi profesora de matemáticas, la señora Elena Ruiz, me enseñó a no rendirme. "
            "#ConnectED",
            lang="es",
        )
    )
    posts.append(
        post(
            grace,
            "Thinking of mr. david chen today, who ran the NPQ in Early Years Leadership "
            "cohort I joined. He retires this summer. #ConnectED",
        )
    )
    posts.append(
        post(
            dafydd,
            "My first head of department, Mrs Bronwen Rees, handed me her NPQLT notes and "
            "said 'make it yours'. I still have them. #ConnectED",
        )
    )
    posts.append(factory.retweet(priya, posts[1]))
    posts.append(
        post(
            priya,
            "@amara_teaches Mr Okonkwo sounds wonderful. Who inspired you to take the NPQH "
            "route, @hwright_head? #ConnectED",
            reply_to=posts[1],
        )
    )
    posts.append(
        post(
            helen,
            "@priyaraman_edu honestly, my own deputy head, Mr Kwame Asante. He believed in me "
            "before I did. #ConnectED",
            reply_to=posts[-1],
        )
    )
    posts.append(
        post(
            samuel,
            "Not everyone's inspiration is a teacher: our school caretaker Mr Leon Grant "
            "taught me more about kindness than any course. 💙 #ConnectED",
        )
    )
    posts.append(
        post(
            amara,
            "Closing the week with thanks to everyone who shared a story #ConnectED",
        )
    )
    return posts


def build_sheet_posts(factory: PostFactory) -> list[dict[str, Any]]:
    """Return the posts of an earlier week, archived in a TAGS sheet, oldest first."""
    amara, tomasz, priya, helen, dafydd, grace, samuel, lucia = (
        factory.teacher(index) for index in range(8)
    )
    post = factory.post
    posts = [
        post(
            priya,
            "Miss Joan Whitfield taught me to read aloud with voices. "
            "I still do it for my year 2s #ConnectED",
        ),
        post(
            samuel,
            "@dafydd_science thanks for the coaching on my NPQSL project, it got me through #ConnectED",
        ),
        post(
            helen,
            "Our trust's Early Career Framework mentors deserve a medal, "
            "especially Mrs Ruth Abara #ConnectED",
        ),
    ]
    posts.append(
        post(
            dafydd,
            "@smensah_senco it was a pleasure, you did the hard part! #ConnectED",
            reply_to=posts[1],
        )
    )
    posts.append(
        post(
            lucia,
            "mrs. maría gómez made Spanish feel like home when I moved here at eleven #ConnectED",
        )
    )
    posts.append(factory.retweet(tomasz, posts[0]))
    posts.append(
        post(
            grace,
            "Starting the NPQ in Early Years Leadership because Ms Hannah Doyle showed me what "
            "good leadership looks like &amp; feels like #ConnectED",
        )
    )
    posts.append(
        post(
            amara,
            "Mr Ibrahim Sesay, you changed my mind about physics in one lesson #ConnectED",
        )
    )
    return posts


def write_jsonl(path: Path, factory: PostFactory, posts: list[dict[str, Any]]) -> None:
    """Write recent-search pages, newest post first, as twarc2 does."""
    known = {post["id"]: post for post in posts}
    newest_first = sorted(posts, key=lambda post: int(post["id"]), reverse=True)
    pages = [
        newest_first[start : start + PAGE_SIZE]
        for start in range(0, len(newest_first), PAGE_SIZE)
    ]
    with path.open("w", encoding="utf-8") as output:
        for number, page_posts in enumerate(pages, start=1):
            token = f"sample-page-{number + 1}" if number < len(pages) else None
            page = search_page(page_posts, factory.users, known, next_token=token)
            retrieved = START + timedelta(days=1, minutes=number)
            page["__twarc"] = {
                "url": "https://api.twitter.com/2/tweets/search/recent?query=%23ConnectED&max_results=100",
                "version": "2.14.0",
                "retrieved_at": retrieved.isoformat(),
            }
            output.write(json.dumps(page, ensure_ascii=False) + "\n")


TAGS_COLUMNS = [
    "id_str",
    "from_user",
    "text",
    "created_at",
    "time",
    "geo_coordinates",
    "user_lang",
    "in_reply_to_user_id_str",
    "in_reply_to_screen_name",
    "from_user_id_str",
    "in_reply_to_status_id_str",
    "source",
    "profile_image_url",
    "user_followers_count",
    "user_friends_count",
    "user_location",
    "status_url",
    "entities_str",
]


def tags_row(factory: PostFactory, post: dict[str, Any]) -> dict[str, str]:
    """Turn a v2 post into a TAGS sheet row, with the short text and X API v1.1 entities."""
    author = factory.users[post["author_id"]]
    created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
    mentions = [
        {
            "screen_name": factory.users[mention["id"]]["username"],
            "name": factory.users[mention["id"]]["name"],
            "id_str": mention["id"],
            "indices": [mention["start"], mention["end"]],
        }
        for mention in (post.get("entities") or {}).get("mentions") or []
    ]
    reply = next(
        (
            ref
            for ref in post.get("referenced_tweets") or []
            if ref["type"] == "replied_to"
        ),
        None,
    )
    replied_author = (
        factory.users.get(post.get("in_reply_to_user_id", "")) if reply else None
    )
    replied_author_id = replied_author["id"] if replied_author else ""
    return {
        "id_str": post["id"],
        "from_user": author["username"],
        "text": post["text"],
        "created_at": created.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        # TAGS writes "time" in the sheet's own time zone; these samples use UTC, so it equals created_at.
        "time": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "geo_coordinates": "",
        "user_lang": "",
        "in_reply_to_user_id_str": replied_author_id,
        "in_reply_to_screen_name": replied_author["username"] if replied_author else "",
        "from_user_id_str": author["id"],
        "in_reply_to_status_id_str": reply["id"] if reply else "",
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "profile_image_url": "",
        "user_followers_count": "120",
        "user_friends_count": "80",
        "user_location": "England",
        "status_url": f"http://twitter.com/{author['username']}/statuses/{post['id']}",
        "entities_str": json.dumps(
            {"hashtags": [], "symbols": [], "user_mentions": mentions, "urls": []}
        ),
    }


def write_tags(path: Path, factory: PostFactory, posts: list[dict[str, Any]]) -> None:
    """Write a TAGS sheet, newest row first as TAGS keeps it."""
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.DictWriter(output, fieldnames=TAGS_COLUMNS)
        writer.writeheader()
        for post in sorted(posts, key=lambda post: int(post["id"]), reverse=True):
            writer.writerow(tags_row(factory, post))


def main() -> None:
    folder = Path(__file__).resolve().parent
    factory = PostFactory(start=START, step=timedelta(minutes=47))
    posts = build_posts(factory)
    write_jsonl(folder / "tweets.jsonl", factory, posts)

    sheet_factory = PostFactory(
        start=START - timedelta(days=14), step=timedelta(hours=5)
    )
    sheet_posts = build_sheet_posts(sheet_factory)
    write_tags(folder / "tags.csv", sheet_factory, sheet_posts)
    print(
        f"wrote {len(posts)} posts to {folder / 'tweets.jsonl'} "
        f"and {len(sheet_posts)} rows to {folder / 'tags.csv'}"
    )


if __name__ == "__main__":
    main()
