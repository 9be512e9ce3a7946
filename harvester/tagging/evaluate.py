"""Score the tagger against gold labels: CoNLL files and the project's own gold JSONL.

Scores are exact-span precision, recall and F1 over character offsets: a predicted
span counts only when its start and end both equal a gold span of the same label.
Each run also scores the plain spaCy pipeline on the same texts as a baseline.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from harvester.errors import UsageError
from harvester.tagging.names import TITLE_PATTERN
from harvester.tagging.tagger import Tagger

log = logging.getLogger(__name__)

Span = tuple[int, int]
PERSON_LABELS = ("person", "PER", "PERSON")
GOLD_LABELS = ("person", "training")
LEADING_TITLE = re.compile(rf"{TITLE_PATTERN}\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One CoNLL sentence: tokens and their BIO tags."""

    words: list[str]
    tags: list[str]


@dataclass
class Scores:
    """Exact-span match counts and the precision, recall and F1 they give."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def add(self, gold: set[Span], predicted: set[Span]) -> None:
        self.true_positives += len(gold & predicted)
        self.false_positives += len(predicted - gold)
        self.false_negatives += len(gold - predicted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
        }


@dataclass
class Report:
    """Scores per system (project, baseline), per group of texts and per label."""

    source: str
    texts: int
    scores: dict[str, dict[str, dict[str, Scores]]] = field(default_factory=dict)

    def get(self, system: str, group: str, label: str) -> Scores:
        return (
            self.scores.setdefault(system, {})
            .setdefault(group, {})
            .setdefault(label, Scores())
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "texts": self.texts,
            "scores": {
                system: {
                    group: {label: s.as_dict() for label, s in labels.items()}
                    for group, labels in groups.items()
                }
                for system, groups in self.scores.items()
            },
        }


def read_conll(path: Path) -> list[Sentence]:
    """Read token TAB tag lines with blank lines between sentences; skip empty tokens."""
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    sentences.append(Sentence(words, tags))
                    words, tags = [], []
                continue
            word, separator, tag = line.rpartition("\t")
            if not separator:
                raise UsageError(
                    f"{path}:{number}: expected 'token<TAB>tag', got {line[:60]!r}"
                )
            if not word.strip():
                continue  # The Broad Twitter Corpus has a few empty tokens, all tagged O.
            words.append(word)
            tags.append(tag.strip())
    if words:
        sentences.append(Sentence(words, tags))
    return sentences


def detect_person_label(sentences: Iterable[Sentence]) -> str:
    """Return the person label the file uses (``person``, ``PER`` or ``PERSON``)."""
    types = {
        tag[2:]
        for sentence in sentences
        for tag in sentence.tags
        if tag[:2] in ("B-", "I-")
    }
    for label in PERSON_LABELS:
        if label in types:
            return label
    raise UsageError(
        f"no person label found among {sorted(types)}; pass --label with the one to score"
    )


def sentence_text(words: Sequence[str]) -> tuple[str, list[Span]]:
    """Join tokens with spaces, except that a lone ``@`` joins the token after it."""
    parts: list[str] = []
    spans: list[Span] = []
    position = 0
    for index, word in enumerate(words):
        spans.append((position, position + len(word)))
        parts.append(word)
        position += len(word)
        if index < len(words) - 1 and word != "@":
            parts.append(" ")
            position += 1
    return "".join(parts), spans


def sentence_spaces(words: Sequence[str]) -> list[bool]:
    return [word != "@" and index < len(words) - 1 for index, word in enumerate(words)]


def gold_token_spans(
    sentence: Sentence, label: str, join_mentions: bool = False
) -> list[tuple[int, int]]:
    """Return ``(first, last)`` token indexes of each ``label`` entity in BIO tags.

    As in conlleval, every B- tag starts an entity and an I- tag with no entity open
    starts one too. The Broad Twitter Corpus writes an @mention as two tokens, ``@``
    and the handle, each tagged B-: two entities, unless ``join_mentions`` merges them.
    """
    entities: list[list[int]] = []
    open_entity = False
    for index, tag in enumerate(sentence.tags):
        prefix, _, kind = tag.partition("-")
        if kind != label or prefix not in ("B", "I"):
            open_entity = False
            continue
        joins_mention = (
            join_mentions
            and prefix == "B"
            and open_entity
            and sentence.words[index - 1] == "@"
            and entities[-1][0] == index - 1
        )
        if prefix == "I" and open_entity or joins_mention:
            entities[-1][1] = index
        else:
            entities.append([index, index])
        open_entity = True
    return [(first, last) for first, last in entities]


def split_lone_at(spans: Iterable[Span], at_tokens: Sequence[Span]) -> set[Span]:
    """Split a predicted span that starts with a lone ``@`` token into ``@`` and the rest.

    This follows the gold convention of files that tag ``@`` and the handle as two
    entities, and is applied to the project and the plain pipeline alike.
    """
    lone_at = {start for start, _ in at_tokens}
    result: set[Span] = set()
    for start, end in spans:
        if start in lone_at and end > start + 1:
            result.add((start, start + 1))
            result.add((start + 1, end))
        else:
            result.add((start, end))
    return result


def evaluate_conll(
    path: Path,
    tagger: Tagger,
    baseline: Language,
    label: str | None = None,
    join_mentions: bool = False,
) -> Report:
    """Score person tags of the tagger and of the plain pipeline on a CoNLL file."""
    sentences = read_conll(path)
    label = label or detect_person_label(sentences)
    texts: list[str] = []
    gold: list[set[Span]] = []
    at_offsets: list[list[Span]] = []
    for sentence in sentences:
        text, offsets = sentence_text(sentence.words)
        texts.append(text)
        at_offsets.append([offsets[i] for i, word in enumerate(sentence.words) if word == "@"])
        gold.append(
            {
                (offsets[first][0], offsets[last][1])
                for first, last in gold_token_spans(sentence, label, join_mentions)
            }
        )

    def shaped(spans: set[Span], ats: list[Span]) -> set[Span]:
        return spans if join_mentions else split_lone_at(spans, ats)

    report = Report(str(path), len(sentences))
    project = report.get("project", "all", "person")
    tagged = tagger.tag_texts(texts)
    for expected, tags, ats in zip(gold, tagged, at_offsets, strict=True):
        predicted = {(tag.start, tag.end) for tag in tags if tag.kind == "person"}
        project.add(expected, shaped(predicted, ats))

    docs = (
        Doc(baseline.vocab, words=s.words, spaces=sentence_spaces(s.words))
        for s in sentences
    )
    plain = report.get("baseline", "all", "person")
    piped = baseline.pipe(docs, batch_size=256)
    for expected, doc, ats in zip(gold, piped, at_offsets, strict=True):
        predicted = {(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"}
        plain.add(expected, shaped(predicted, ats))
    return report


@dataclass(frozen=True)
class GoldText:
    """A gold text: its style (post or email), @mention names and labelled spans."""

    id: str
    style: str
    text: str
    mentions: dict[str, str]
    spans: dict[str, set[Span]]


def read_gold_jsonl(path: Path) -> list[GoldText]:
    """Read gold texts, one JSON object a line; check every span against its text."""
    items = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                spans: dict[str, set[Span]] = {label: set() for label in GOLD_LABELS}
                for span in data["spans"]:
                    start, end = int(span["start"]), int(span["end"])
                    if span["label"] not in spans or not 0 <= start < end <= len(
                        data["text"]
                    ):
                        raise ValueError(f"invalid span {span}")
                    if "text" in span and data["text"][start:end] != span["text"]:
                        raise ValueError(
                            f"span {span} does not match the text {data['text'][start:end]!r}"
                        )
                    spans[span["label"]].add((start, end))
                items.append(
                    GoldText(
                        str(data.get("id", number)),
                        data.get("style", "post"),
                        data["text"],
                        data.get("mentions", {}),
                        spans,
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                raise UsageError(
                    f"{path}:{number}: invalid gold line ({error}); fix or remove it"
                ) from error
    return items


def without_titles(text: str, spans: Iterable[Span]) -> set[Span]:
    """Return ``spans`` with a leading title (Mrs, Dr. ...) cut off each one."""
    result = set()
    for start, end in spans:
        title = LEADING_TITLE.match(text, start, end)
        result.add((title.end(), end) if title and title.end() < end else (start, end))
    return result


def evaluate_gold(path: Path, tagger: Tagger, baseline: Language) -> Report:
    """Score person and training tags on gold JSONL, per style and overall.

    The label ``person_untitled`` scores people with titles cut from gold and
    predicted spans alike, because the stock model keeps "Mrs" in a span but
    drops "Mr" and "Dr", while the gold set keeps every title.
    """
    items = read_gold_jsonl(path)
    report = Report(str(path), len(items))
    tagged = tagger.tag_texts(
        [item.text for item in items], [item.mentions for item in items]
    )
    for item, tags in zip(items, tagged, strict=True):
        for label in GOLD_LABELS:
            predicted = {(tag.start, tag.end) for tag in tags if tag.kind == label}
            for group in ("all", item.style):
                report.get("project", group, label).add(item.spans[label], predicted)
                if label == "person":
                    untitled = report.get("project", group, "person_untitled")
                    untitled.add(
                        without_titles(item.text, item.spans[label]),
                        without_titles(item.text, predicted),
                    )

    plain_docs = baseline.pipe((item.text for item in items), batch_size=256)
    for item, doc in zip(items, plain_docs, strict=True):
        predicted = {
            (e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"
        }
        for group in ("all", item.style):
            report.get("baseline", group, "person").add(item.spans["person"], predicted)
            untitled = report.get("baseline", group, "person_untitled")
            untitled.add(
                without_titles(item.text, item.spans["person"]),
                without_titles(item.text, predicted),
            )
    return report


def evaluate_file(
    path: Path,
    tagger: Tagger,
    baseline: Language,
    label: str | None = None,
    join_mentions: bool = False,
) -> Report:
    """Score a CoNLL file or, for a ``.jsonl`` file, the project's gold format."""
    if not path.is_file():
        raise UsageError(f"evaluation file {path} not found")
    if path.suffix == ".jsonl":
        return evaluate_gold(path, tagger, baseline)
    return evaluate_conll(path, tagger, baseline, label, join_mentions)


def format_report(report: Report) -> str:
    """Format a report as a plain-text table, one row per system, group and label."""
    lines = [
        f"{report.source}: {report.texts} texts",
        f"{'system':<9} {'group':<6} {'label':<16} {'P':>6} {'R':>6} {'F1':>6}",
    ]
    for system, groups in report.scores.items():
        for group, labels in groups.items():
            for label, s in labels.items():
                lines.append(
                    f"{system:<9} {group:<6} {label:<16} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}"
                )
    return "\n".join(lines)
