"""Generate a reproducible corpus of story-like X posts and emails for the benchmarks.

Every name, school and handle is made up by combining the word lists below, so no
real person appears. Posts come out as twarc2 JSONL (one X API v2 search page per
line, with ``includes.users``); emails come out as RFC 822 bytes. The same seed
always gives the same corpus, and a smaller corpus is a prefix of a larger one.

Each generated post is a distinct story: no retweets, and no two texts share a
content hash, so the pipeline stores every post as a new story and the end-to-end
rate compares with the NLP rate on the same texts.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from store.queries import content_hash

FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Eilidh",
    "Farah",
    "Gareth",
    "Hana",
    "Idris",
    "Jonah",
    "Keira",
    "Lukas",
    "Maya",
    "Niamh",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tegan",
    "Uma",
    "Victor",
    "Wren",
    "Xavier",
    "Yasmin",
    "Zach",
    "Aoife",
    "Bilal",
    "Carys",
    "Dmitri",
    "Esme",
    "Femi",
    "Grace",
    "Hamza",
    "Isla",
    "Jasper",
    "Kofi",
    "Leah",
    "Mateo",
    "Nadia",
    "Owen",
    "Petra",
    "Rhys",
    "Sadia",
    "Tomasz",
    "Una",
    "Vikram",
    "Willa",
    "Yusuf",
    "Zara",
    "Alys",
    "Bronwen",
    "Callum",
    "Delphine",
    "Emeka",
    "Fiona",
    "Gwen",
    "Harriet",
    "Ivo",
    "Jess",
]
SURNAMES = [
    "Okonkwo",
    "Patel",
    "Carter",
    "Lindqvist",
    "MacLeod",
    "Haddad",
    "Evans",
    "Nakamura",
    "Rahman",
    "Whitlock",
    "Adeyemi",
    "Novak",
    "Fernandes",
    "Gallagher",
    "Osei",
    "Kowalski",
    "Brennan",
    "Achterberg",
    "Mensah",
    "Sandhu",
    "Thorne",
    "Ivanova",
    "Quayle",
    "Oduya",
    "Pennington",
    "Ferreira",
    "Llewellyn",
    "Moreau",
    "Castellano",
    "Hargreaves",
    "Abiodun",
    "Kaur",
    "Delacroix",
    "Fairweather",
    "Szabo",
    "Ortega",
    "Blackwood",
    "Nwosu",
    "Lindgren",
    "Ashworth",
    "Kapoor",
    "Dunmore",
    "Vasquez",
    "Rowntree",
    "Ekwueme",
    "Halloran",
    "Tiwari",
    "Merriman",
    "Ostrowski",
    "Greaves",
]
TITLES = ("Mrs", "Mr", "Ms", "Miss", "Dr")
ROLES = (
    "mentor",
    "head of department",
    "NQT mentor",
    "induction tutor",
    "deputy head",
    "headteacher",
    "subject lead",
    "SENCo",
    "teaching assistant",
    "PGCE tutor",
    "form tutor",
)
TRAINING = (
    "NPQH",
    "NPQSL",
    "NPQLT",
    "NPQLTD",
    "NPQLBC",
    "NPQEYL",
    "NPQ in Leading Literacy",
    "the Early Career Framework",
    "ECF",
    "the National Professional Qualification for Headship",
    "NPQ Senior Leadership",
    "Teach First",
    "Ambition Institute",
    "the NPQ for Leading Teaching",
    "Best Practice Network",
    "the UCL Institute of Education",
)
SUBJECTS = (
    "maths",
    "phonics",
    "chemistry",
    "history",
    "music",
    "PE",
    "art",
    "geography",
    "computing",
    "French",
    "biology",
    "English literature",
    "reception",
    "year 6",
    "drama",
    "physics",
)
PLACES = (
    "Millbrook",
    "Ashford Vale",
    "Kingsmead",
    "Harrowfield",
    "Brackenhurst",
    "Elmstead",
    "Riverside",
    "Thornbury Heath",
    "Oakwell",
    "Pennant Cross",
    "Larchmont",
    "Stonebridge",
    "Willowgate",
    "Fernlea",
)
SCHOOL_KINDS = (
    "Primary",
    "Academy",
    "High School",
    "Community School",
    "Infant School",
    "Grammar School",
    "Sixth Form College",
    "Free School",
)
EMOJI = (
    "🙏",
    "❤️",
    "🍎",
    "📚",
    "✨",
    "👏",
    "💙",
    "🎉",
    "🌟",
    "🥹",
    "👩‍🏫",
    "👨‍🏫",
    "💪🏽",
    "🙌",
)
HASHTAGS = (
    "#ConnectED",
    "#TeacherAppreciation",
    "#ThankATeacher",
    "#edutwitter",
    "#NPQH",
    "#EarlyCareerFramework",
    "#TeachersRock",
    "#MentorMatters",
    "#ECTlife",
)

OPENINGS = (
    "My {role} {person} changed everything for me.",
    "Who inspired me? {person}, without a doubt.",
    "Shout out to {person}, the best {role} anyone could ask for.",
    "I would not still be teaching without {person}.",
    "Thinking today about {person}, my {role} at {school}.",
    "{person} is the reason I became a teacher.",
    "Twenty years on I still hear {person} in my head when I plan a lesson.",
    "Huge thanks to {person} for believing in me during {training}.",
)
MIDDLES = (
    "{pronoun} taught {subject} at {school} in {year} and never gave up on any of us.",
    "During {training} {pronoun_lower} stayed late every Thursday to go through my lesson plans.",
    "When my first observation went badly, {person} sat with me and rebuilt it step by step.",
    "{pronoun} showed me that behaviour management starts with relationships, not rules.",
    "I did {training} because {person} told me I was ready for it before I believed it myself.",
    "Every child in {pronoun_possessive} {subject} class felt seen, and so did every trainee.",
    "{pronoun} once turned a wet Friday afternoon into the best {subject} lesson I have ever watched.",
    "Our whole department at {school} still uses the feedback routine {pronoun_lower} designed in {year}.",
    "{person} and {other} led the sessions for {training} together and made them feel like a team.",
    "The advice I got from {other} during my first term was simple: be kind, be clear, be consistent.",
)
CLOSINGS = (
    "Thank you {short}!",
    "Forever grateful.",
    "Teachers like {short} make the job worth it.",
    "If you know {short}, tell {pronoun_object} this story.",
    "This one is for you, {short}.",
    "Still learning from {pronoun_object} every week.",
    "Proud to call {pronoun_object} a colleague now.",
)

# Share of posts longer than 280 characters, which X delivers in ``note_tweet``. The
# share is a guess, not a measured figure. Most generated emails (80%) carry the long
# form of 3 to 7 sentences.
LONG_POST_SHARE = 0.1

PRONOUNS = {
    "f": ("She", "her", "her"),
    "m": ("He", "him", "his"),
    "n": ("They", "them", "their"),
}


@dataclass(frozen=True)
class User:
    id: str
    username: str
    name: str

    def as_v2(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name}


@dataclass(frozen=True)
class Person:
    """A fictional teacher a story is about, in the forms a story may name them."""

    first: str
    surname: str
    title: str
    pronouns: str
    user: User | None

    def mention_forms(self, rng: random.Random) -> tuple[str, str]:
        """Return a long and a short way to name the person, as stories vary them."""
        choice = rng.random()
        full = f"{self.first} {self.surname}"
        titled = f"{self.title} {self.surname}"
        if self.user is not None and choice < 0.25:
            return f"@{self.user.username}", self.first
        if choice < 0.35:
            return full.lower(), self.first.lower()
        if choice < 0.40:
            return full.upper(), self.first.upper()
        if choice < 0.70:
            return titled, titled
        return full, self.first


class CorpusGenerator:
    """Deterministic source of story texts, posts and emails for one seed."""

    def __init__(self, seed: int = 2026) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.users = self._make_users(4000)
        self.users_by_handle = {user.username: user for user in self.users}
        self.hashes: set[str] = set()
        self.next_post_id = 1_865_000_000_000_000_000
        self.time = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)

    def _make_users(self, count: int) -> list[User]:
        users = []
        for index in range(count):
            first = self.rng.choice(FIRST_NAMES)
            surname = self.rng.choice(SURNAMES)
            style = index % 4
            if style == 0:
                handle = f"{first.lower()}_{surname.lower()}"
            elif style == 1:
                handle = f"{first.lower()}teaches"
            elif style == 2:
                handle = f"{self.rng.choice(TITLES).lower()}{surname.lower()}"
            else:
                handle = f"{first[0].lower()}{surname.lower()}_edu"
            handle = f"{handle[:11]}{index:04d}"
            users.append(User(str(900_000_000 + index), handle, f"{first} {surname}"))
        return users

    def _person(self) -> Person:
        user = self.rng.choice(self.users) if self.rng.random() < 0.6 else None
        if user is not None:
            first, surname = user.name.split(" ", 1)
        else:
            first, surname = self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)
        return Person(
            first, surname, self.rng.choice(TITLES), self.rng.choice("ffmmn"), user
        )

    def _fill(self, template: str, person: Person, other: Person) -> str:
        subject_pronoun, object_pronoun, possessive = PRONOUNS[person.pronouns]
        long_form, short_form = person.mention_forms(self.rng)
        return template.format(
            person=long_form,
            short=short_form,
            other=other.mention_forms(self.rng)[0],
            role=self.rng.choice(ROLES),
            school=f"{self.rng.choice(PLACES)} {self.rng.choice(SCHOOL_KINDS)}",
            training=self.rng.choice(TRAINING),
            subject=self.rng.choice(SUBJECTS),
            year=self.rng.randint(1985, 2025),
            pronoun=subject_pronoun,
            pronoun_lower=subject_pronoun.lower(),
            pronoun_object=object_pronoun,
            pronoun_possessive=possessive,
        )

    def story_text(self, *, long: bool) -> tuple[str, list[Person]]:
        """Return a new story text whose content hash no earlier text has, and its people."""
        while True:
            person, other = self._person(), self._person()
            middle_count = self.rng.randint(2, 5) if long else self.rng.randint(0, 1)
            parts = [self._fill(self.rng.choice(OPENINGS), person, other)]
            parts += [
                self._fill(middle, person, other)
                for middle in self.rng.sample(MIDDLES, middle_count)
            ]
            if self.rng.random() < 0.7:
                parts.append(self._fill(self.rng.choice(CLOSINGS), person, other))
            if self.rng.random() < 0.5:
                parts.append("".join(self.rng.sample(EMOJI, self.rng.randint(1, 3))))
            tags = [HASHTAGS[0]] + self.rng.sample(HASHTAGS[1:], self.rng.randint(0, 2))
            text = " ".join(parts)
            text = (
                f"{text} {' '.join(tags)}"
                if self.rng.random() < 0.8
                else f"{' '.join(tags)} {text}"
            )
            if self.rng.random() < 0.15:
                text += f" https://example.org/s/{self.rng.randrange(16**8):08x}"
            digest = content_hash(text)
            if digest is not None and digest not in self.hashes:
                self.hashes.add(digest)
                return text, [person, other]

    # X posts

    def post(self, earlier_ids: list[str]) -> tuple[dict[str, Any], list[User]]:
        """Return one X API v2 post and the users it points to."""
        self.next_post_id += self.rng.randint(1_000_000, 90_000_000_000)
        self.time += timedelta(seconds=self.rng.randint(5, 600))
        post_id = str(self.next_post_id)
        author = self.rng.choice(self.users)
        long = self.rng.random() < LONG_POST_SHARE
        text, _ = self.story_text(long=long)

        users = {author.username: author}
        mentions = []
        for match in re.finditer(r"@(\w{1,15})", text):
            user = self.users_by_handle.get(match.group(1))
            if user is not None:
                users[user.username] = user
                mentions.append(
                    {
                        "start": match.start(),
                        "end": match.end(),
                        "username": user.username,
                        "id": user.id,
                    }
                )
        hashtags = [
            {"start": m.start(), "end": m.end(), "tag": m.group(1)}
            for m in re.finditer(r"#(\w+)", text)
        ]
        entities: dict[str, Any] = {"hashtags": hashtags}
        if mentions:
            entities["mentions"] = mentions

        post: dict[str, Any] = {
            "id": post_id,
            "author_id": author.id,
            "created_at": self.time.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "conversation_id": post_id,
            "lang": "en",
            "public_metrics": {
                "retweet_count": self.rng.randint(0, 40),
                "reply_count": self.rng.randint(0, 12),
                "like_count": self.rng.randint(0, 400),
                "quote_count": self.rng.randint(0, 5),
            },
            "edit_history_tweet_ids": [post_id],
        }
        if len(text) > 280:
            post["text"] = text[:279] + "…"
            post["note_tweet"] = {"text": text, "entities": entities}
        else:
            post["text"] = text
        post["entities"] = entities
        if earlier_ids and self.rng.random() < 0.15:
            replied = self.rng.choice(earlier_ids)
            post["referenced_tweets"] = [{"type": "replied_to", "id": replied}]
            post["conversation_id"] = replied
        return post, list(users.values())

    def pages(self, count: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield twarc2 search pages containing ``count`` posts in total."""
        earlier: list[str] = []
        generated = 0
        while generated < count:
            posts, users = [], {}
            for _ in range(min(page_size, count - generated)):
                post, post_users = self.post(earlier[-500:])
                posts.append(post)
                users.update((user.id, user.as_v2()) for user in post_users)
                earlier.append(post["id"])
            generated += len(posts)
            del earlier[:-500]
            yield {
                "data": posts,
                "includes": {"users": list(users.values())},
                "meta": {
                    "result_count": len(posts),
                    "newest_id": posts[-1]["id"],
                    "oldest_id": posts[0]["id"],
                },
                "__twarc": {
                    "url": "https://api.x.com/2/tweets/search/recent",
                    "version": "2.14.0",
                    "retrieved_at": self.time.isoformat(),
                },
            }

    # Emails

    def email(self, index: int) -> bytes:
        """Return one story email as RFC 822 bytes, with a unique Message-ID."""
        self.time += timedelta(seconds=self.rng.randint(30, 3600))
        sender = self.rng.choice(self.users)
        text, people = self.story_text(long=self.rng.random() < 0.8)
        text = re.sub(r"\s*#\w+", "", text)
        paragraphs = [
            sentence.strip()
            for sentence in re.split(r"(?<=[.!?])\s+", text)
            if sentence.strip()
        ]
        body = "\n\n".join(
            " ".join(paragraphs[i : i + 2]) for i in range(0, len(paragraphs), 2)
        )
        greeting = self.rng.choice(
            ("Hello,", "Hi ConnectED team,", "Dear editors,", "Hi there,")
        )
        role = self.rng.choice(ROLES)
        signature = f"{sender.name}\n{role[0].upper()}{role[1:]}, {self.rng.choice(PLACES)} {self.rng.choice(SCHOOL_KINDS)}"
        plain = f"{greeting}\n\n{body}\n\nBest wishes,\n{signature.splitlines()[0]}\n\n-- \n{signature}\n"
        if self.rng.random() < 0.15:
            quoted = "\n".join(
                f"> {line}"
                for line in "Could you send us your story?\nThanks, the ConnectED team".splitlines()
            )
            plain += f"\nOn {format_datetime(self.time - timedelta(days=2))}, ConnectED <stories@example.org> wrote:\n{quoted}\n"

        message = EmailMessage()
        local = sender.username.replace("_", ".")
        message["From"] = (
            f"{sender.name} <{local}@example.{self.rng.choice(('org', 'net', 'com'))}>"
        )
        message["To"] = "ConnectED stories <stories@example.org>"
        subject_person = people[0].mention_forms(self.rng)[0].lstrip("@")
        message["Subject"] = self.rng.choice(
            (
                f"My story: {subject_person}",
                "Who inspired me",
                f"A thank you to {subject_person}",
                "Story for ConnectED",
                "Re: Your teacher stories",
            )
        )
        message["Date"] = format_datetime(self.time)
        message["Message-ID"] = f"<story.{self.seed}.{index}@example.org>"
        message.set_content(plain)
        if self.rng.random() < 0.3:
            html_body = "".join(
                f"<p>{paragraph}</p>" for paragraph in [greeting, *body.split("\n\n")]
            )
            message.add_alternative(
                f"<html><body>{html_body}<p>Best wishes,<br>{sender.name}</p></body></html>",
                subtype="html",
            )
        return bytes(message)


def write_twarc_file(path: Path, count: int, seed: int = 2026) -> Path:
    """Write ``count`` generated posts to ``path`` as twarc2 JSONL."""
    generator = CorpusGenerator(seed)
    with path.open("w", encoding="utf-8") as handle:
        for page in generator.pages(count):
            handle.write(json.dumps(page, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
    return path


def generate_emails(count: int, seed: int = 2026) -> Iterator[bytes]:
    """Yield ``count`` generated story emails."""
    generator = CorpusGenerator(seed)
    for index in range(count):
        yield generator.email(index)
