"""Name lists: people the NER misses, found by a listed first name.

The model misses many people written with a first name only, often in lower case
("i wish im ryan", "Tanner is a good dude"). The tagger's name lists contain census
first names and surnames that are not also common English words. A word outside
every entity whose lower-case form is a listed first name of four or more letters
becomes a person. A name that is also an English noun ("Willow") needs a capital.
A listed surname right after it, with its first letter in the same case, joins the
span ("Mauro Ranallo"). So does a person entity right after it ("Amelia" before the
entity "Scott"). The lists are built by ``python -m harvester.tagging.train.names``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from spacy.tokens import Doc, Token

from harvester.errors import ConfigError

# Titles written before a name, lower-cased and without a full stop.
TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame"}
)
# A regular expression for one title with an optional full stop, for case-insensitive
# matching. Longer titles come first, so "Professor" is not matched as "Prof".
TITLE_PATTERN = (
    "(?:" + "|".join(sorted(TITLES, key=lambda title: (-len(title), title))) + r")\.?"
)
# A first name glued to one of these is part of a longer word: "Tanner-Smith",
# "amber_rose", "@emma", "#Chelsea".
GLUE = frozenset({"-", "_", "@", "#"})
# A listed name right after one of these is part of a surname ("de la Cruz").
PARTICLES = frozenset(
    {"da", "de", "del", "della", "der", "di", "du", "la", "le", "van", "von"}
)
# A name followed by one of these words names a place or an organisation
# ("Trinity Academy", "Willow class", "the Megan Hughes Award").
INSTITUTION_WORDS = frozenset(
    {
        "academy",
        "award",
        "awards",
        "campus",
        "centre",
        "center",
        "class",
        "college",
        "federation",
        "foundation",
        "fund",
        "hall",
        "house",
        "hub",
        "infants",
        "institute",
        "juniors",
        "nursery",
        "partnership",
        "primary",
        "prize",
        "road",
        "school",
        "street",
        "trust",
        "university",
    }
)
# In the first-name file, this mark after a name says it is also an English noun
# ("willow", "aide"). Such a name counts only when written with a capital.
WORD_MARK = "word"

DATA = Path(__file__).resolve().parent / "data"
FIRST_NAMES_FILE = "first_names.txt"
SURNAMES_FILE = "surnames.txt"
# Shortest first name the tagger uses. Many three-letter names are also words or
# syllables ("Kay", "Ira", "Han").
MIN_LENGTH = 4


def _read(path: Path) -> dict[str, bool]:
    """Read a list file into {name: whether it carries the word mark}."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(
            f"nlp.name_lists: cannot read {path} ({error.strerror}); rebuild it with "
            "`python -m harvester.tagging.train.names` or set nlp.name_lists to false"
        ) from error
    names: dict[str, bool] = {}
    for line in lines:
        fields = line.split()
        if fields and not line.startswith("#"):
            names[fields[0].lower()] = fields[1:] == [WORD_MARK]
    return names


@dataclass(frozen=True)
class NameLists:
    """Lower-cased first names and surnames.

    A first name in ``word_names`` is also an English noun, and counts only when
    written with a capital and lower-case letters after it.
    """

    first_names: frozenset[str]
    surnames: frozenset[str]
    word_names: frozenset[str] = frozenset()

    @classmethod
    def load(cls, folder: Path = DATA) -> NameLists:
        return _load(folder)

    def people(
        self, doc: Doc, taken: Iterable[tuple[int, int]] = ()
    ) -> list[tuple[int, int]]:
        """Return the character spans in ``doc.text`` of people with a listed first name.

        Words inside an entity of the doc are never used. Neither are words that
        overlap a span of ``taken``: the tagger passes training matches, hashtags and
        @handles. A word glued to a hyphen, an underscore, ``@`` or ``#`` is skipped,
        and so is a word after a surname particle such as "de". A name followed by a
        word such as "Academy" or "class" names an institution and is skipped.
        """
        blocked = list(taken)
        spans: list[tuple[int, int]] = []
        index = 0
        while index < len(doc):
            token = doc[index]
            if not self._first_name(token, blocked):
                index += 1
                continue
            end = index + 1
            if end < len(doc) and token.whitespace_:
                following = doc[end]
                if _starts_person(following, token, blocked):
                    end += 1
                    while end < len(doc) and doc[end].ent_iob_ == "I":
                        end += 1
                elif self._surname_after(token, following, blocked):
                    end += 1
            if end < len(doc) and doc[end].lower_ in INSTITUTION_WORDS:
                index = end
                continue
            spans.append((token.idx, doc[end - 1].idx + len(doc[end - 1])))
            index = end
        return spans

    def _first_name(self, token: Token, blocked: list[tuple[int, int]]) -> bool:
        if token.lower_ not in self.first_names or len(token) < MIN_LENGTH:
            return False
        if not token.is_alpha or not _free(token, blocked):
            return False
        if token.lower_ in self.word_names and not token.is_title:
            return False
        if token.i > 0 and token.nbor(-1).text in PARTICLES:
            return False
        return not _glued(token)

    def _surname_after(
        self, first: Token, token: Token, blocked: list[tuple[int, int]]
    ) -> bool:
        if token.lower_ not in self.surnames or not token.is_alpha:
            return False
        if not _free(token, blocked) or _glued(token):
            return False
        return token.text[0].isupper() == first.text[0].isupper()


def _free(token: Token, blocked: list[tuple[int, int]]) -> bool:
    return token.ent_iob_ not in ("B", "I") and not _blocked(token, blocked)


def _blocked(token: Token, blocked: list[tuple[int, int]]) -> bool:
    start, end = token.idx, token.idx + len(token)
    return any(
        other_start < end and start < other_end for other_start, other_end in blocked
    )


def _glued(token: Token) -> bool:
    doc = token.doc
    before = doc[token.i - 1] if token.i > 0 else None
    after = doc[token.i + 1] if token.i + 1 < len(doc) else None
    if before is not None and not before.whitespace_ and before.text[-1:] in GLUE:
        return True
    return after is not None and not token.whitespace_ and after.text[:1] in GLUE


def _starts_person(token: Token, first: Token, blocked: list[tuple[int, int]]) -> bool:
    """Tell whether a person entity starts at ``token`` and may join the name ``first``.

    The entity must start with a word in the same case as the name, and not with a
    title or an @handle: "amelia Ben Carter" and "tanner Mrs Jones" are two people.
    """
    if token.ent_iob_ != "B" or token.ent_type_ != "PERSON":
        return False
    if not token.text[:1].isalpha() or token.lower_.rstrip(".") in TITLES:
        return False
    if token.text[0].isupper() != first.text[0].isupper():
        return False
    return not _blocked(token, blocked)


@lru_cache(maxsize=4)
def _load(folder: Path) -> NameLists:
    first = _read(folder / FIRST_NAMES_FILE)
    return NameLists(
        frozenset(first),
        frozenset(_read(folder / SURNAMES_FILE)),
        frozenset(name for name, marked in first.items() if marked),
    )
