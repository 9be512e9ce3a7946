"""The tagger: people and training courses in story texts, with exact offsets.

For each story the tagger runs the spaCy NER on a tweet-aware rewrite of the text
(``harvester.tagging.text``) and matches the training gazetteer on the same rewrite.
It resolves @mentions to display names from ``Story.mentions``. Every span maps back
to character offsets in ``Story.text``.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from harvester.records import Story, Tag
from harvester.tagging.gazetteer import TRAINING_COMPONENT, Gazetteer, Match, training_matches
from harvester.tagging.names import TITLE_PATTERN, TITLES, NameLists
from harvester.tagging.nlp import load_pipeline
from harvester.tagging.text import (
    Normalized,
    hashtags_in,
    identity,
    mentions_in,
    normalize,
    recase,
    split_camel_case,
)

if TYPE_CHECKING:
    from harvester.config import Config
    from store.db import Database

log = logging.getLogger(__name__)

TITLE_BEFORE = re.compile(rf"\b{TITLE_PATTERN}\s+$", re.IGNORECASE)
# A title followed by one or two name words, in any case: "Mrs Okonkwo", "mr patel".
TITLED_NAME = re.compile(
    rf"\b{TITLE_PATTERN}\s+([^\W\d_][\w'’-]*)(?:\s+([^\W\d_][\w'’-]*))?",
    re.IGNORECASE,
)
POSSESSIVE = re.compile(r"['’]s?$")
HANDLE = re.compile(r"@\w+")
# "miss" after one of these words is the verb: "I miss teaching", "we will miss
# Jessica". "to" is not one of them, because "thanks to miss Patel" names a teacher.
MISS_AS_VERB = re.compile(
    r"\b(?:i|we|you|they|will|would|'ll|really|so|all|gonna|still|do|don't|dont|"
    r"already|must|always|never)\s+$",
    re.IGNORECASE,
)
# A person span that looks like an email address or a web address is not a person.
ADDRESS_LIKE = re.compile(
    r"[\w.+-]@[\w-]|://|\bwww\.|\w\.(?:com|org|net|edu|gov|uk|io|ly|co)\b",
    re.IGNORECASE,
)
# A signed "name" with one of these words is a team or an office.
TEAM_WORDS = frozenset(
    {
        "academy",
        "admissions",
        "department",
        "governors",
        "office",
        "pta",
        "school",
        "staff",
        "team",
        "the",
        "trust",
    }
)
# A name alone on the line after a mail sign-off such as "Kind regards,".
SIGNED_NAME = re.compile(
    r"^[ \t]*(?:(?:best|kind|warm|many)(?:est)? (?:regards|wishes)|regards|warmly|thanks|thank you|cheers|"
    r"yours(?: sincerely| faithfully| truly)?|all the best|with thanks|best)[ \t]*,?[ \t]*\r?\n"
    r"[ \t]*((?-i:[A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+){0,2}))[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
EDGE = " \t\n\r\"'“”‘’.,;:!?()[]{}<>-–—*|/\\"

# The case fallback runs the NER again on a post written nearly all in lowercase or in
# capitals, with its words capitalized (stop words excepted), because the models rely
# on capitals. NOTE: it lowered person precision on WNUT-17 dev (0.70 to 0.61 with the
# fine-tuned NER, docs/tagging.md), so nlp.case_fallback is off by default.
CAPITALIZED_MAX_SHARE = 0.1
ALL_CAPS_MIN_SHARE = 0.6
KEEP_LOWERCASE = frozenset(STOP_WORDS) | {
    "rt",
    "thanks",
    "thank",
    "love",
    "loved",
    "lol",
    "omg",
}


class Tagger:
    """Finds ``person`` and ``training`` tags in stories with one spaCy pipeline."""

    def __init__(
        self,
        nlp: Language,
        gazetteer: Gazetteer,
        *,
        batch_size: int = 256,
        n_process: int = 1,
        tweet_aware: bool = True,
        case_fallback: bool = False,
        names: NameLists | None = None,
    ) -> None:
        self.nlp = nlp
        self.gazetteer = gazetteer
        if TRAINING_COMPONENT not in nlp.pipe_names:
            nlp.add_pipe(TRAINING_COMPONENT, last=True)
        self.batch_size = batch_size
        self.n_process = n_process
        self.tweet_aware = tweet_aware
        self.case_fallback = case_fallback
        self.names = names

    @classmethod
    def from_config(cls, config: Config, db: Database | None = None) -> Tagger:
        """Load the configured pipeline and gazetteer; ``db`` adds curators' training aliases."""
        settings = config.nlp
        return cls(
            load_pipeline(settings.pipeline, settings.ner_model),
            Gazetteer.from_config(config, db),
            batch_size=settings.batch_size,
            n_process=settings.n_process,
            tweet_aware=settings.tweet_aware,
            case_fallback=settings.case_fallback,
            names=NameLists.load() if settings.name_lists else None,
        )

    def tag(self, stories: Sequence[Story]) -> list[list[Tag]]:
        """Return the tags of each story, in story order, each list sorted by offset."""
        return self.tag_texts(
            [story.text for story in stories], [story.mentions for story in stories]
        )

    def tag_texts(
        self, texts: Sequence[str], mentions: Sequence[Mapping[str, str]] | None = None
    ) -> list[list[Tag]]:
        """Tag plain texts; ``mentions`` maps each text's @handles to display names."""
        rewrites = [
            normalize(text) if self.tweet_aware else identity(text) for text in texts
        ]
        # Set on every call, because two taggers may share one loaded pipeline.
        self.nlp.get_pipe(TRAINING_COMPONENT).gazetteer = self.gazetteer
        docs = self.nlp.pipe(
            (rewrite.text for rewrite in rewrites),
            batch_size=self.batch_size,
            n_process=self.n_process,
        )

        people: list[list[tuple[int, int]]] = []
        listed: list[list[tuple[int, int]]] = []
        training: list[list[Match]] = []
        for text, rewrite, doc in zip(texts, rewrites, docs, strict=True):
            people.append(
                [
                    rewrite.to_original(ent.start_char, ent.end_char)
                    for ent in doc.ents
                    if ent.label_ == "PERSON"
                ]
            )
            matches = training_matches(doc)
            if matches is None:
                matches = self.gazetteer.find(doc, self.nlp, rewrite.text)
            hashtags = hashtags_in(text)
            name_spans = []
            if self.names is not None:
                blocks = _name_blocks(rewrite, matches, hashtags + mentions_in(text))
                name_spans = self.names.people(doc, blocks)
            listed.append(
                [rewrite.to_original(start, end) for start, end in name_spans]
            )
            found = [self._to_original(rewrite, match) for match in matches]
            found += self.gazetteer.find_in_hashtags(hashtags)
            training.append(found)

        for index, text in enumerate(texts):
            people[index] += titled_names(text) + signed_names(text)
        if self.case_fallback:
            self._add_recased_people(rewrites, people)
        for found, name_spans in zip(people, listed, strict=True):
            _add_listed(found, name_spans)

        results = []
        for index, text in enumerate(texts):
            handles = mentions[index] if mentions is not None else {}
            results.append(
                self._assemble(text, people[index], training[index], handles)
            )
        return results

    @staticmethod
    def _to_original(rewrite: Normalized, match: Match) -> Match:
        start, end = rewrite.to_original(match.start, match.end)
        return Match(start, end, match.name)

    def _add_recased_people(
        self, rewrites: Sequence[Normalized], people: list[list[tuple[int, int]]]
    ) -> None:
        chosen = [
            index
            for index, rewrite in enumerate(rewrites)
            if needs_recasing(rewrite.text)
        ]
        recased = (recase(rewrites[index].text, KEEP_LOWERCASE) for index in chosen)
        docs = self.nlp.pipe(
            recased,
            batch_size=self.batch_size,
            n_process=self.n_process,
            disable=[TRAINING_COMPONENT],
        )
        for index, doc in zip(chosen, docs, strict=True):
            rewrite = rewrites[index]
            people[index] += [
                rewrite.to_original(e.start_char, e.end_char)
                for e in doc.ents
                if e.label_ == "PERSON"
            ]

    def _assemble(
        self,
        text: str,
        people: Iterable[tuple[int, int]],
        training: Iterable[Match],
        handles: Mapping[str, str],
    ) -> list[Tag]:
        tags: list[Tag] = []
        by_handle = {
            handle.lstrip("@").lower(): name for handle, name in handles.items()
        }

        for start, end, handle in mentions_in(text):
            display = by_handle.get(handle.lower())
            organisation = self.gazetteer.lookup_handle(handle) or (
                display and self.gazetteer.lookup(display)
            )
            if organisation:
                tags.append(
                    Tag(
                        "training",
                        text[start:end],
                        start,
                        end,
                        "gazetteer",
                        organisation,
                    )
                )
            elif display:
                tags.append(
                    Tag("person", text[start:end], start, end, "mention", display)
                )

        for match in sorted(training, key=lambda m: (m.start, m.start - m.end)):
            if not _overlaps(tags, match.start, match.end):
                tags.append(
                    Tag(
                        "training",
                        text[match.start : match.end],
                        match.start,
                        match.end,
                        "gazetteer",
                        match.name,
                    )
                )

        hashtags = hashtags_in(text)
        # Of two spans that start together, the longer one wins: "Mr tanner" from the
        # title rule over "Mr" from the NER.
        for start, end in sorted(set(people), key=lambda span: (span[0], -span[1])):
            span = clean_person_span(text, start, end)
            if span is not None:
                span = person_in_hashtag(span, hashtags)
            if span is None or _overlaps(tags, *span):
                continue
            name = " ".join(text[span[0] : span[1]].split())
            if self.gazetteer.lookup(name) or (
                name.startswith("@") and self.gazetteer.lookup_handle(name)
            ):
                continue
            tags.append(
                Tag("person", text[span[0] : span[1]], span[0], span[1], "ner", name)
            )
        return sorted(tags, key=lambda tag: (tag.start, tag.end))


def _overlaps(tags: Iterable[Tag], start: int, end: int) -> bool:
    return any(tag.start < end and start < tag.end for tag in tags)


def _name_blocks(
    rewrite: Normalized,
    matches: Iterable[Match],
    tokens: Iterable[tuple[int, int, str]],
) -> list[tuple[int, int]]:
    """Return the spans of the rewrite that the name lists must not use.

    These are the training matches and the rewritten form of each hashtag and
    @handle in ``tokens``, whose spans are offsets of the original text. The rewrite
    keeps the order of the original characters, so its origin offsets never decrease
    and can be bisected.
    """
    blocks = [(match.start, match.end) for match in matches]
    for start, end, _ in tokens:
        first = bisect_left(rewrite.origin, start)
        last = bisect_left(rewrite.origin, end)
        if first < last:
            blocks.append((first, last))
    return blocks


def _add_listed(
    found: list[tuple[int, int]], listed: Iterable[tuple[int, int]]
) -> None:
    """Add the name-list spans to ``found``, the other person spans of one text.

    A listed span replaces the spans it contains ("Amelia" and the entity "Scott"
    after it become "Amelia Scott"). When the only span it overlaps starts before it
    and ends inside it, that span is extended to its end ("mrs emma" and "emma
    scott" become "mrs emma scott"). Otherwise a listed span yields to the spans it
    overlaps.
    """
    for start, end in listed:
        overlapping = [span for span in found if span[0] < end and start < span[1]]
        if all(start <= span[0] and span[1] <= end for span in overlapping):
            found[:] = [span for span in found if span not in overlapping]
            found.append((start, end))
            continue
        if len(overlapping) != 1:
            continue
        other_start, other_end = overlapping[0]
        if other_start < start < other_end < end:
            found.remove(overlapping[0])
            found.append((other_start, end))


def clean_person_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim punctuation, emoji and a possessive from a person span and add a title before it.

    Return None when no letters remain. A span that starts at or inside an @handle
    becomes exactly the whole handle, with its @ sign.
    """
    while start < end and (
        text[start] in EDGE or not (text[start].isalnum() or text[start] in "@#_")
    ):
        start += 1
    while end > start and (
        text[end - 1] in EDGE or not (text[end - 1].isalnum() or text[end - 1] == "_")
    ):
        end -= 1
    possessive = POSSESSIVE.search(text, start, end)
    if possessive and possessive.start() > start:
        end = possessive.start()
    if start > 0 and text[start - 1] == "@":
        start -= 1
    if start >= end:
        return None
    if (
        start > 0
        and text[start] == "@"
        and (text[start - 1].isalnum() or text[start - 1] in "._-")
    ):
        return None  # the domain of an email address, such as @gmail in ann@gmail.com
    handle = HANDLE.match(text, start)
    if handle:
        return handle.span()
    if text[start : start + 1] == "#":
        start += 1
    # "Professor. " (11 characters) is the longest title with its space.
    title = TITLE_BEFORE.search(text, max(0, start - 12), start)
    if title and not _miss_as_verb(text, title.start()):
        start = title.start()
    if not any(char.isalpha() for char in text[start:end]):
        return None
    if ADDRESS_LIKE.search(text, start, end):
        return None
    if all(word.rstrip(".").lower() in TITLES for word in text[start:end].split()):
        return None
    return start, end


def _miss_as_verb(text: str, start: int) -> bool:
    """Tell whether the title at ``start`` is the verb "miss" ("I miss teaching")."""
    if text[start : start + 4].lower() != "miss":
        return False
    return MISS_AS_VERB.search(text, max(0, start - 12), start) is not None


def person_in_hashtag(
    span: tuple[int, int], hashtags: Iterable[tuple[int, int, str]]
) -> tuple[int, int] | None:
    """Return a person span found in a hashtag as the whole hashtag with its # sign.

    Return None when the span covers only part of the hashtag, or when the hashtag
    is not a name written in capitalized words (#AlanPardew). Topic hashtags such as
    #ConnectED are far more common in stories than names. Spans outside hashtags
    are returned as they are.
    """
    for start, end, body in hashtags:
        if start <= span[0] and span[1] <= end:
            words = split_camel_case(body).split()
            if span != (start, end) or not all(word.istitle() for word in words):
                return None
            return start - 1, end
    return span


def titled_names(text: str) -> list[tuple[int, int]]:
    """Return the spans of names written after a title, such as "Mrs Okonkwo" or "mr patel"."""
    spans = []
    for match in TITLED_NAME.finditer(text):
        if match.group(1).lower() in STOP_WORDS or match.group(1).lower() in TITLES:
            continue
        if _miss_as_verb(text, match.start()) or text.startswith("://", match.end(1)):
            continue
        end = match.end(1)
        second = match.group(2)
        if second and second[0].isupper() and second.lower() not in STOP_WORDS:
            end = match.end(2)
        spans.append((match.start(), end))
    return spans


def signed_names(text: str) -> list[tuple[int, int]]:
    """Return the spans of names signed under a mail sign-off, such as "Best wishes,\nAnn Lee".

    A team or an office signing ("The English Department", "Admissions Team") is
    skipped.
    """
    return [
        (match.start(1), match.end(1))
        for match in SIGNED_NAME.finditer(text)
        if not TEAM_WORDS & {word.lower() for word in match.group(1).split()}
    ]


def needs_recasing(text: str) -> bool:
    """Tell whether a text is written nearly all in lowercase or nearly all in capitals."""
    words = [word for word in re.findall(r"(?<![@#\w])[^\W\d_]{2,}", text)]
    if len(words) < 3:
        return False
    capitalized = sum(1 for word in words if word[0].isupper()) / len(words)
    all_caps = sum(1 for word in words if word.isupper()) / len(words)
    return capitalized <= CAPITALIZED_MAX_SHARE or all_caps >= ALL_CAPS_MIN_SHARE
