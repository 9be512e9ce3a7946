"""Name lists: people the NER misses, found by a listed first name.

The model misses many people written with a first name only, often in lower case
("i wish im ryan", "Tanner is a good dude"). The tagger's name lists hold census
first names that are not also common English words, and census surnames that are
not very common words. A word outside
every entity whose lower-case form is a listed first name of four or more letters
becomes a person. A listed surname right after it, with its first letter in the
same case, joins the span ("Mauro Ranallo"), and so does a person entity right after
it ("Amelia" before the entity "Scott"). The lists are built by
``python -m harvester.tagging.train.names``.
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
# A first name glued to one of these is part of a longer word: "Tanner-Smith",
# "amber_rose", "@emma", "#Chelsea".
GLUE = frozenset({"-", "_", "@", "#"})

DATA = Path(__file__).resolve().parent / "data"
FIRST_NAMES_FILE = "first_names.txt"
SURNAMES_FILE = "surnames.txt"
# Shorter first names are mostly words or syllables in other languages ("Ira", "Kay").
MIN_LENGTH = 4


def _read(path: Path) -> frozenset[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(
            f"nlp.name_lists: cannot read {path} ({error.strerror}); rebuild it with "
            "`python -m harvester.tagging.train.names` or set nlp.name_lists to false"
        ) from error
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class NameLists:
    """Lower-cased first names and surnames."""

    first_names: frozenset[str]
    surnames: frozenset[str]

    @classmethod
    def load(cls, folder: Path = DATA) -> NameLists:
        return _load(folder)

    def people(
        self, doc: Doc, taken: Iterable[tuple[int, int]] = ()
    ) -> list[tuple[int, int]]:
        """Return the character spans in ``doc.text`` of people found by a listed first name.

        Words inside an entity of the doc, or overlapping a span of ``taken`` (the
        tagger passes training matches, hashtags and @handles), are never used, and
        neither is a word glued to a hyphen, an underscore, ``@`` or ``#``. A person
        entity right after the name joins it unless it starts with a title or an
        @handle: "tanner Mrs Jones" stays two people.
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
                if _starts_person(following, blocked):
                    end += 1
                    while end < len(doc) and doc[end].ent_iob_ == "I":
                        end += 1
                elif self._surname_after(token, following, blocked):
                    end += 1
            spans.append((token.idx, doc[end - 1].idx + len(doc[end - 1])))
            index = end
        return spans

    def _first_name(self, token: Token, blocked: list[tuple[int, int]]) -> bool:
        if token.lower_ not in self.first_names or len(token) < MIN_LENGTH:
            return False
        if not token.is_alpha or not _free(token, blocked):
            return False
        return not _glued(token)

    def _surname_after(self, first: Token, token: Token, blocked: list[tuple[int, int]]) -> bool:
        if token.lower_ not in self.surnames or not token.is_alpha:
            return False
        if not _free(token, blocked) or _glued(token):
            return False
        return token.text[0].isupper() == first.text[0].isupper()


def _free(token: Token, blocked: list[tuple[int, int]]) -> bool:
    return token.ent_iob_ not in ("B", "I") and not _blocked(token, blocked)


def _blocked(token: Token, blocked: list[tuple[int, int]]) -> bool:
    start, end = token.idx, token.idx + len(token)
    return any(other_start < end and start < other_end for other_start, other_end in blocked)


def _glued(token: Token) -> bool:
    doc = token.doc
    before = doc[token.i - 1] if token.i > 0 else None
    after = doc[token.i + 1] if token.i + 1 < len(doc) else None
    if before is not None and not before.whitespace_ and before.text[-1:] in GLUE:
        return True
    return after is not None and not token.whitespace_ and after.text[:1] in GLUE


def _starts_person(token: Token, blocked: list[tuple[int, int]]) -> bool:
    """Tell whether a person entity starts at ``token`` and may join the name before it."""
    if token.ent_iob_ != "B" or token.ent_type_ != "PERSON":
        return False
    if not token.text[:1].isalpha() or token.lower_.rstrip(".") in TITLES:
        return False
    return not _blocked(token, blocked)


@lru_cache(maxsize=4)
def _load(folder: Path) -> NameLists:
    return NameLists(_read(folder / FIRST_NAMES_FILE), _read(folder / SURNAMES_FILE))
