"""Name lists: people the NER misses, found by a listed first name.

The model misses many people written with a first name only, often in lower case
("i wish im ryan", "Tanner is a good dude"). The tagger's name lists hold the census
first names and surnames that are not also common English words. A word outside
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

        Words inside an entity of the doc, or overlapping a span of ``taken``, are
        never used. A word right after ``@`` or ``#`` is part of a handle or a hashtag
        and is skipped.
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
                if following.ent_iob_ == "B" and following.ent_type_ == "PERSON":
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
        before = token.nbor(-1) if token.i > 0 else None
        return before is None or before.whitespace_ != "" or before.text not in ("@", "#")

    def _surname_after(self, first: Token, token: Token, blocked: list[tuple[int, int]]) -> bool:
        if token.lower_ not in self.surnames or not token.is_alpha:
            return False
        if not _free(token, blocked):
            return False
        return token.text[0].isupper() == first.text[0].isupper()


def _free(token: Token, blocked: list[tuple[int, int]]) -> bool:
    if token.ent_iob_ in ("B", "I"):
        return False
    start, end = token.idx, token.idx + len(token)
    return not any(other_start < end and start < other_end for other_start, other_end in blocked)


@lru_cache(maxsize=4)
def _load(folder: Path) -> NameLists:
    return NameLists(
        _read(folder / FIRST_NAMES_FILE),
        _read(folder / SURNAMES_FILE),
    )
