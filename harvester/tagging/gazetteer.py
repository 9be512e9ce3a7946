"""The training gazetteer: names, acronyms and aliases of courses and providers.

Entries come from three places, merged by canonical name: the gazetteer file
(``harvester/tagging/data/training.yaml`` unless ``nlp.gazetteer`` names another),
``nlp.training`` in the config, and the ``training_aliases`` rows curators add.
Matching is case-insensitive with spaCy's PhraseMatcher, except for the ``cased``
aliases, plus a prefix rule for hashtags (``#NPQHjourney``) and a fuzzy rule for
small misspellings of names of two or more words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from rapidfuzz import fuzz, process
from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_STOP, LENGTH, LOWER
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from harvester.errors import ConfigError

if TYPE_CHECKING:
    from harvester.config import Config
    from store.db import Database

log = logging.getLogger(__name__)

DEFAULT_GAZETTEER = Path(__file__).resolve().parent / "data" / "training.yaml"

# A fuzzy match needs this rapidfuzz ``fuzz.ratio`` score (0-100): one wrong letter
# in a 17-letter name scores 94, and two different short words score far lower.
FUZZY_MIN_SCORE = 90
FUZZY_MIN_LENGTH = 10
# A hashtag such as #npqhjourney matches by prefix only for aliases this long, so
# three-letter acronyms do not match the start of unrelated words.
HASHTAG_PREFIX_MIN_LENGTH = 4


@dataclass
class TrainingName:
    """One course, programme or provider and the ways stories write it."""

    name: str
    kind: str = "course"
    aliases: list[str] = field(default_factory=list)
    cased: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    """A training name found at ``[start, end)`` of a text."""

    start: int
    end: int
    name: str


def normalize_alias(text: str) -> str:
    """Lowercase ``text`` and collapse its whitespace, for alias lookups."""
    return " ".join(text.lower().split())


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def read_gazetteer(path: Path) -> list[TrainingName]:
    """Read a gazetteer YAML file; raise ConfigError naming the file and the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"nlp.gazetteer: file {path} not found; fix the path or remove the key"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"nlp.gazetteer: {path} is not valid YAML: {error}"
        ) from error

    entries = data.get("training") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(
            f"nlp.gazetteer: {path} needs a top-level 'training' list of entries"
        )
    names = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(
                f"nlp.gazetteer: entry {number} in {path} needs a 'name' string"
            )
        lists = {key: entry.get(key) or [] for key in ("aliases", "cased", "handles")}
        for key, value in lists.items():
            if not isinstance(value, list) or not all(
                isinstance(item, str) for item in value
            ):
                raise ConfigError(
                    f"nlp.gazetteer: {key} of {entry['name']!r} in {path} must be a list of strings"
                )
        names.append(
            TrainingName(entry["name"], str(entry.get("kind", "course")), **lists)
        )
    return names


def read_database_aliases(db: Database) -> list[TrainingName]:
    """Read the training rows and their aliases, including those curators added."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from store.models import Training

    with db.read() as session:
        rows = session.scalars(
            select(Training).options(selectinload(Training.aliases))
        ).all()
        return [
            TrainingName(row.name, row.kind, [alias.alias for alias in row.aliases])
            for row in rows
        ]


class Gazetteer:
    """Training names merged from all sources, with matchers built for one pipeline."""

    def __init__(self, entries: Iterable[TrainingName], *, fuzzy: bool = True) -> None:
        self.entries: dict[str, TrainingName] = {}
        for entry in entries:
            self._add(entry)
        self.fuzzy = fuzzy

        # Lookup tables: lowercase alias, exact-case alias and lowercase handle -> name.
        self.aliases: dict[str, str] = {}
        self.cased: dict[str, str] = {}
        self.handles: dict[str, str] = {}
        for entry in self.entries.values():
            cased_only = {normalize_alias(alias) for alias in entry.cased}
            for alias in [entry.name, *entry.aliases]:
                if normalize_alias(alias) not in cased_only:
                    self.aliases.setdefault(normalize_alias(alias), entry.name)
            for alias in entry.cased:
                self.cased.setdefault(alias, entry.name)
            for handle in entry.handles:
                self.handles[handle.lstrip("@").lower()] = entry.name

        # Aliases without spaces or punctuation, for hashtags such as #npqhjourney.
        self._squashed = {
            _squash(alias): name
            for alias, name in self.aliases.items()
            if len(_squash(alias)) >= HASHTAG_PREFIX_MIN_LENGTH
        }

        # Fuzzy matching compares word windows with names of two or more words, and only
        # around a word that resembles one of the words of those names.
        self._fuzzy_choices = [
            alias
            for alias in self.aliases
            if len(alias) >= FUZZY_MIN_LENGTH and " " in alias
        ]
        self._anchor_words = {
            word
            for alias in self._fuzzy_choices
            for word in alias.split()
            if len(word) >= 5 and word not in STOP_WORDS
        }
        self._fuzzy_max_words = max(
            (alias.count(" ") + 1 for alias in self._fuzzy_choices), default=0
        )
        # Window lengths outside these bounds score below FUZZY_MIN_SCORE against
        # every choice: ratio = 2 * matches / (len(a) + len(b)) <= 2 * len(a) / (len(a) + len(b)).
        lengths = [len(alias) for alias in self._fuzzy_choices] or [0]
        length_ratio = FUZZY_MIN_SCORE / (200 - FUZZY_MIN_SCORE)
        self._fuzzy_shortest = int(min(lengths) * length_ratio)
        self._fuzzy_longest = int(max(lengths) / length_ratio) + 1
        self._anchor_cache: dict[str, bool] = {}
        self._matchers: tuple[PhraseMatcher, PhraseMatcher] | None = None

    def _add(self, entry: TrainingName) -> None:
        existing = self.entries.get(entry.name)
        if existing is None:
            self.entries[entry.name] = TrainingName(
                entry.name,
                entry.kind,
                list(entry.aliases),
                list(entry.cased),
                list(entry.handles),
            )
            return
        existing.aliases.extend(
            alias for alias in entry.aliases if alias not in existing.aliases
        )
        existing.cased.extend(
            alias for alias in entry.cased if alias not in existing.cased
        )
        existing.handles.extend(
            handle for handle in entry.handles if handle not in existing.handles
        )

    @classmethod
    def from_config(cls, config: Config, db: Database | None = None) -> Gazetteer:
        path = (
            config.resolve_path(config.nlp.gazetteer)
            if config.nlp.gazetteer
            else DEFAULT_GAZETTEER
        )
        entries = read_gazetteer(path)
        entries += [
            TrainingName(item.name, item.kind, list(item.aliases))
            for item in config.nlp.training
        ]
        if db is not None:
            entries += read_database_aliases(db)
        gazetteer = cls(entries, fuzzy=config.nlp.fuzzy)
        log.info(
            "gazetteer: %d training names, %d aliases from %s",
            len(gazetteer.entries),
            len(gazetteer.aliases),
            path,
        )
        return gazetteer

    def lookup(self, text: str) -> str | None:
        """Return the canonical name ``text`` is an alias of, or None."""
        return self.cased.get(text.strip()) or self.aliases.get(normalize_alias(text))

    def lookup_handle(self, handle: str) -> str | None:
        """Return the training name an organisation's X handle belongs to, or None."""
        return self.handles.get(handle.lstrip("@").lower())

    def kind_of(self, name: str) -> str:
        entry = self.entries.get(name)
        return entry.kind if entry else "course"

    def _build_matchers(self, nlp: Language) -> tuple[PhraseMatcher, PhraseMatcher]:
        # A matcher belongs to one vocabulary, so another pipeline gets new matchers.
        if self._matchers is None or self._matchers[0].vocab is not nlp.vocab:
            lower = PhraseMatcher(nlp.vocab, attr="LOWER")
            for alias, name in self.aliases.items():
                lower.add(name, [nlp.make_doc(alias)])
            exact = PhraseMatcher(nlp.vocab, attr="ORTH")
            for alias, name in self.cased.items():
                exact.add(name, [nlp.make_doc(alias)])
            self._matchers = (lower, exact)
        return self._matchers

    def find(self, doc: Doc, nlp: Language, text: str | None = None) -> list[Match]:
        """Find training names in ``doc``: exact aliases first, then fuzzy ones.

        ``text`` is ``doc.text``, which a caller holding it can pass: spaCy builds
        ``doc.text`` anew from the tokens on each access.
        """
        lower, exact = self._build_matchers(nlp)
        found: list[Match] = []
        for matcher in (lower, exact):
            for match_id, start, end in matcher(doc):
                span = doc[start:end]
                found.append(
                    Match(span.start_char, span.end_char, nlp.vocab.strings[match_id])
                )
        if self.fuzzy and self._fuzzy_choices:
            found += self._find_fuzzy(doc, found, doc.text if text is None else text)
        return found

    def find_in_hashtags(self, hashtags: Iterable[tuple[int, int, str]]) -> list[Match]:
        """Find hashtags that start with an alias, such as ``#npqhjourney`` or ``#NPQH2025``."""
        found = []
        for start, _end, body in hashtags:
            if not body.isalnum():
                continue
            lowered = body.lower()
            for length in range(len(lowered), HASHTAG_PREFIX_MIN_LENGTH - 1, -1):
                name = self._squashed.get(lowered[:length])
                if name is not None:
                    found.append(Match(start, start + length, name))
                    break
        return found

    def _is_anchor(self, word: str) -> bool:
        cached = self._anchor_cache.get(word)
        if cached is None:
            cached = (
                len(word) >= 4
                and word not in STOP_WORDS
                and (
                    word in self._anchor_words
                    or process.extractOne(
                        word, self._anchor_words, scorer=fuzz.ratio, score_cutoff=80
                    )
                    is not None
                )
            )
            if len(self._anchor_cache) < 100_000:
                self._anchor_cache[word] = cached
        return cached

    def _find_fuzzy(self, doc: Doc, exact: list[Match], text: str) -> list[Match]:
        taken = {index for match in exact for index in range(match.start, match.end)}
        # The token attributes come as one array per doc: making Token and Span
        # objects for every word and window cost more than the fuzzy scoring itself.
        rows = doc.to_array([LOWER, IS_ALPHA, IS_STOP, IS_PUNCT, IDX, LENGTH]).tolist()
        strings = doc.vocab.strings
        anchors = [
            index
            for index, (lower, alpha, _stop, _punct, offset, _length) in enumerate(rows)
            if alpha and offset not in taken and self._is_anchor(strings[lower])
        ]
        if not anchors:
            return []
        max_words = self._fuzzy_max_words
        windows: dict[tuple[int, int], str] = {}
        for anchor in anchors:
            for first in range(max(0, anchor - max_words + 1), anchor + 1):
                for last in range(anchor, min(len(rows), first + max_words + 1)):
                    if rows[first][2] or rows[last][2] or rows[last][3]:
                        continue
                    start, end = rows[first][4], rows[last][4] + rows[last][5]
                    # fuzz.ratio cannot reach the cut-off when one string is much longer.
                    if self._fuzzy_shortest <= end - start <= self._fuzzy_longest:
                        windows[start, end] = text[start:end].lower()
        if not windows:
            return []
        # One call scores every window against every name, which costs far less than
        # one extractOne call per window.
        scores = process.cdist(
            list(windows.values()), self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE
        )
        best: list[tuple[float, int, int, str]] = []
        for (start, end), row in zip(windows, scores, strict=True):
            choice = int(row.argmax())
            if row[choice] >= FUZZY_MIN_SCORE:
                best.append((float(row[choice]), start, end, self.aliases[self._fuzzy_choices[choice]]))
        matches: list[Match] = []
        for _score, start, end, name in sorted(
            best, key=lambda item: (-item[0], item[1])
        ):
            if any(index in taken for index in range(start, end)):
                continue
            taken.update(range(start, end))
            matches.append(Match(start, end, name))
        return matches


# The name of the pipeline component that matches the gazetteer inside nlp.pipe, and the
# key of Doc.user_data where it leaves its matches as (start, end, name) triples.
TRAINING_COMPONENT = "harvester_training"


class TrainingMatcher:
    """A spaCy component that finds training names with the tagger's ``Gazetteer``.

    Running the matching inside ``nlp.pipe`` keeps the gazetteer's patterns in the
    same pass as the NER, and with ``nlp.n_process`` it runs in the worker processes.
    The tagger sets ``gazetteer`` after adding the component.
    """

    def __init__(self, nlp: Language, name: str = TRAINING_COMPONENT) -> None:
        self.nlp = nlp
        self.name = name
        self.gazetteer: Gazetteer | None = None

    def __call__(self, doc: Doc) -> Doc:
        if self.gazetteer is not None:
            doc.user_data[TRAINING_COMPONENT] = [
                (match.start, match.end, match.name) for match in self.gazetteer.find(doc, self.nlp)
            ]
        return doc


@Language.factory(TRAINING_COMPONENT)
def make_training_matcher(nlp: Language, name: str) -> TrainingMatcher:
    """Create the gazetteer component. ``Tagger`` sets its gazetteer."""
    return TrainingMatcher(nlp, name)


def training_matches(doc: Doc) -> list[Match] | None:
    """Return the matches the gazetteer component left on ``doc``, or None if it did not run."""
    found = doc.user_data.get(TRAINING_COMPONENT)
    if found is None:
        return None
    return [Match(start, end, name) for start, end, name in found]
