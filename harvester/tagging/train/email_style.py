"""Generate email-style story sentences with exact PERSON spans for rehearsal.

Fine-tuning on posts alone makes the NER forget how names look in edited prose:
titles with surnames, full names, names after quotes and in sign-offs. Mixing these
sentences into training keeps mail tagging at least as good as the stock pipeline.
Sentences without people (training courses, providers, schools) teach the model
that those capitalised names are not people.

The labels come from the templates, not from the stock model: en_core_web_sm 3.8
found only 350 of 520 templated people exactly (measured on 600 sentences), and it
puts "Mrs" and "Miss" inside the span but "Mr" and "Dr" outside. A PERSON span here
includes a title before the name, as the project's gold texts do.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Names chosen not to overlap the people in harvester/tagging/data/gold.jsonl as it was
# on 2026-12-04, so that names seen in training do not inflate the gold set's scores.
FIRST_NAMES = (
    "Wiktoria",
    "Ishaan",
    "Morwenna",
    "Tunde",
    "Saoirse",
    "Dafydd",
    "Rukhsana",
    "Ottilie",
    "Emeka",
    "Lowri",
    "Anwen",
    "Bogdan",
    "Farida",
    "Hollis",
    "Ines",
    "Jovan",
    "Keziah",
    "Lorcan",
    "Malika",
    "Nkechi",
    "Pavel",
    "Roisin",
    "Selin",
    "Thandiwe",
    "Ulrich",
    "Verity",
    "Wendell",
    "Tomasz",
    "Oluwaseun",
    "Mohammed",
    "Rhys",
    "Liam",
    "Zofia",
    "Deepak",
    "Bethan",
    "Chidi",
    "Arjun",
    "Niamh",
    "Samuel",
    "Mei",
    "Jamal",
    "Rosie",
    "Callum",
    "Ifeoma",
    "Leila",
    "Marcus",
    "Anjali",
    "Catriona",
    "Patrick",
    "Euan",
    "Shreya",
    "Femi",
    "Bartek",
    "Hamza",
    "Esther",
)

SURNAMES = (
    "Abernethy",
    "Balogun",
    "Cattermole",
    "Dziedzic",
    "Fairbairn",
    "Gwilliam",
    "Haldane",
    "Idowu",
    "Jankowska",
    "Kilbride",
    "Lennox",
    "Mwangi",
    "Nkemelu",
    "Ortega",
    "Penhaligon",
    "Quayle",
    "Radcliffe",
    "Szymanski",
    "Tremayne",
    "Umeh",
    "Vickers",
    "Wojcik",
    "Yeboah",
    "Zielinski",
    "Nwachukwu",
    "Whitfield",
    "Ogunleye",
    "Brennan",
    "Gallagher",
    "Thornton",
    "Llewellyn",
    "Banerjee",
    "Doherty",
    "Campbell",
    "Lindqvist",
    "Fitzgerald",
    "Harrington",
    "MacLeod",
    "Kapoor",
    "Iqbal",
    "Ellison",
    "Oyelaran",
    "Duncan",
    "Hartley",
)

TITLES = ("Mrs", "Mr", "Ms", "Miss", "Dr", "Mrs.", "Mr.", "Dr.")

# Capitalised names that are not people: courses, providers, schools and places.
NOT_PEOPLE = (
    "the NPQH",
    "the NPQSL",
    "the Early Career Framework",
    "Ambition Institute",
    "Teach First",
    "the UCL Institute of Education",
    "Best Practice Network",
    "the Education Development Trust",
    "the National Institute of Teaching",
    "St Mary's Primary",
    "Hillside Academy",
    "Leeds",
    "the Church of England",
    "Year 6",
    "Ofsted",
    "the Chartered College of Teaching",
)

# {person} is replaced by a name form, {other} by an entry of NOT_PEOPLE.
TEMPLATES = (
    "I would like to thank {person}, my Year 6 teacher, for believing in me.",
    "{person} taught me chemistry at {other} and I still use her notes.",
    'As {person} once told me, "never stop asking why."',
    '"Keep going," said {person}, and I did.',
    '"Trust your instincts," {person} wrote on my first report.',
    "Dear team, I want to nominate {person} for the story wall.",
    "My mentor, {person}, introduced me to {other}.",
    "It was {person} who persuaded me to apply for {other}.",
    "Without {person} I would never have become a teacher.",
    "Thank you to {person} and {person} for a wonderful year.",
    "Kind regards, {person}",
    "Best wishes,\n{person}",
    "Many thanks,\n{person}\nDeputy Head, {other}",
    "I first met {person} when I joined {other} in 2015.",
    "{person} ran the after-school club and never missed a week.",
    "Last term {person} retired after thirty years at {other}.",
    "Please pass my thanks on to {person}.",
    "My daughter still talks about {person}'s science lessons.",
    "The person who inspired me most is {person}.",
    "{person} from {other} has been an incredible coach.",
    "We were lucky to have {person} as our head of maths.",
    "When I struggled, {person} stayed late to help me plan.",
    "I completed {other} last year and it changed how I teach.",
    "Our school works with {other} on the mentoring programme.",
    "The course at {other} was recommended by our head teacher.",
    "Sessions run every Tuesday at {other} until July.",
    "I am writing about {other}, which helped our whole department.",
    "Hi {person}, thanks for the lovely story about your tutor.",
    "In 1998 {person} took our class on a trip to {other}.",
    "Could you forward this to {person}? She was my NQT mentor.",
)

PLACEHOLDER = re.compile(r"\{(person|other)\}")


@dataclass(frozen=True)
class LabelledText:
    """A text and the character ranges (start, end) of the people in it, titles included."""

    text: str
    people: tuple[tuple[int, int], ...]


def _person_name(rng: random.Random) -> str:
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    form = rng.random()
    if form < 0.35:
        return f"{rng.choice(TITLES)} {surname}"
    if form < 0.8:
        return f"{first} {surname}"
    if form < 0.9:
        return f"{rng.choice(TITLES)} {first} {surname}"
    return first


def _fill(template: str, rng: random.Random) -> LabelledText:
    parts: list[str] = []
    people: list[tuple[int, int]] = []
    length = 0
    position = 0
    for match in PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        parts.append(literal)
        length += len(literal)
        if match.group(1) == "person":
            value = _person_name(rng)
            people.append((length, length + len(value)))
        else:
            value = rng.choice(NOT_PEOPLE)
            if match.start() == 0:
                value = value[0].upper() + value[1:]
        parts.append(value)
        length += len(value)
        position = match.end()
    parts.append(template[position:])
    return LabelledText("".join(parts), tuple(people))


def generate(count: int, seed: int) -> Iterator[LabelledText]:
    """Yield ``count`` sentences from ``TEMPLATES``, reproducibly for a given ``seed``."""
    rng = random.Random(seed)
    for index in range(count):
        yield _fill(TEMPLATES[index % len(TEMPLATES)], rng)
