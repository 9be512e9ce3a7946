"""Build the spaCy training and development corpora for the person NER.

    python -m harvester.tagging.train.prepare --output /tmp/harvester-ner/corpus \\
        --train DATA/ner/wnut17_train.conll DATA/ner/btc_train.conll \\
        --dev DATA/ner/wnut17_dev.conll DATA/ner/btc_dev.conll \\
        --email-style 1500 --case-augment --normalize

Every entity other than a person becomes O, because the tagger only reads PERSON
from this model. Writes train.spacy, dev.spacy and manifest.json (the options and
the document counts) to the output folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from harvester.errors import HarvesterError
from harvester.tagging.train.augment import case_variants, name_swaps
from harvester.tagging.train.conll import (
    Sentence,
    bio_spans,
    detect_person_label,
    join_mentions,
    read_conll,
)
from harvester.tagging.train.email_style import LabelledText, generate
from harvester.tagging.train.names import name_lists
from harvester.tagging.train.normalize import normalize_words

log = logging.getLogger(__name__)


def sentence_doc(
    nlp: Language,
    sentence: Sentence,
    label: str,
    *,
    normalize: bool,
    handles_missing: bool = False,
) -> Doc | None:
    """Build a Doc with PERSON entities from a CoNLL sentence, dropping empty tokens.

    With ``handles_missing``, "@handle" tokens tagged O get no annotation at all:
    WNUT-17 tags every handle O while the Broad Twitter Corpus tags people's
    handles PER, so an O on a handle carries no information. Returns None when nothing but empty
    tokens remains.
    """
    kept_indices = [index for index, word in enumerate(sentence.words) if word.strip()]
    if not kept_indices:
        return None
    words = [sentence.words[index] for index in kept_indices]
    if normalize:
        words = normalize_words(words)
    tags = [sentence.tags[index] for index in kept_indices]
    doc = Doc(nlp.vocab, words=words)
    people = [
        Span(doc, start, end, label="PERSON") for start, end in bio_spans(tags, label)
    ]
    missing: list[Span] = []
    if handles_missing:
        missing = [
            Span(doc, index, index + 1)
            for index, word in enumerate(words)
            if word.startswith("@") and len(word) > 1 and tags[index] == "O"
        ]
    doc.set_ents(people, missing=missing, default="outside")
    return doc


def conll_docs(
    nlp: Language,
    paths: Sequence[Path],
    *,
    normalize: bool,
    augment_rng: random.Random | None,
    name_rate: float,
    sentence_rate: float,
    join: bool = False,
    handles_missing: bool = False,
    swap_rate: float = 0.0,
    names: tuple[list[str], list[str]] | None = None,
) -> list[Doc]:
    """Read CoNLL files into Docs.

    Adds case variants when ``augment_rng`` is given, copies with other names when
    ``names`` (first names, surnames) is given too, and with ``join`` a copy of each
    sentence with a lone ``@`` where it is merged into the handle.
    """
    docs: list[Doc] = []
    for path in paths:
        sentences = read_conll(path)
        label = detect_person_label(sentences)
        before = len(docs)
        for sentence in sentences:
            variants: list[Sentence] = [sentence]
            if augment_rng is not None:
                variants += case_variants(
                    sentence,
                    label,
                    augment_rng,
                    name_rate=name_rate,
                    sentence_rate=sentence_rate,
                )
            if augment_rng is not None and names is not None:
                variants += name_swaps(
                    sentence,
                    label,
                    augment_rng,
                    rate=swap_rate,
                    first_names=names[0],
                    surnames=names[1],
                )
            if join and "@" in sentence.words:
                variants.append(join_mentions(sentence))
            for variant in variants:
                doc = sentence_doc(
                    nlp,
                    variant,
                    label,
                    normalize=normalize,
                    handles_missing=handles_missing,
                )
                if doc is not None:
                    docs.append(doc)
        log.info(
            "%s: %d sentences, %d docs (label %s)",
            path,
            len(sentences),
            len(docs) - before,
            label,
        )
    return docs


def rehearsal_docs(nlp: Language, texts: Iterable[LabelledText]) -> list[Doc]:
    """Tokenize generated email-style texts with ``nlp`` and mark their PERSON spans."""
    docs: list[Doc] = []
    for text in texts:
        doc = nlp.make_doc(text.text)
        people = [
            doc.char_span(start, end, label="PERSON", alignment_mode="expand")
            for start, end in text.people
        ]
        doc.set_ents([span for span in people if span is not None], default="outside")
        docs.append(doc)
    return docs


def write_docbin(docs: Sequence[Doc], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=False).to_disk(path)
    log.info("wrote %d docs to %s", len(docs), path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--train", nargs="+", type=Path, required=True, help="CoNLL training files"
    )
    parser.add_argument(
        "--dev", nargs="+", type=Path, required=True, help="CoNLL development files"
    )
    parser.add_argument(
        "--output",
        type=Path,
        required=True,
        help="folder for train.spacy and dev.spacy",
    )
    parser.add_argument(
        "--email-style",
        type=int,
        default=0,
        metavar="N",
        help="add N generated email-style sentences",
    )
    parser.add_argument(
        "--case-augment",
        action="store_true",
        help="add case variants of CoNLL sentences",
    )
    parser.add_argument(
        "--name-rate",
        type=float,
        default=0.3,
        help="share of sentences with people recased",
    )
    parser.add_argument(
        "--sentence-rate",
        type=float,
        default=0.1,
        help="share of sentences lower-cased",
    )
    parser.add_argument(
        "--name-swap",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share of sentences with people copied with census names instead",
    )
    parser.add_argument(
        "--normalize", action="store_true", help="strip hashtag signs from CoNLL tokens"
    )
    parser.add_argument(
        "--join-mentions",
        action="store_true",
        help="add copies with a lone @ merged into the handle",
    )
    parser.add_argument(
        "--handles-missing",
        action="store_true",
        help="leave @handle tokens tagged O unannotated",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of augmentation and generation"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    try:
        nlp = spacy.blank("en")
        augmenting = args.case_augment or args.name_swap > 0
        augment_rng = random.Random(args.seed) if augmenting else None
        names = name_lists() if args.name_swap > 0 else None
        train = conll_docs(
            nlp,
            args.train,
            normalize=args.normalize,
            augment_rng=augment_rng,
            name_rate=args.name_rate if args.case_augment else 0.0,
            sentence_rate=args.sentence_rate if args.case_augment else 0.0,
            join=args.join_mentions,
            handles_missing=args.handles_missing,
            swap_rate=args.name_swap,
            names=names,
        )
        if args.email_style:
            train += rehearsal_docs(nlp, generate(args.email_style, args.seed))
        dev = conll_docs(
            nlp,
            args.dev,
            normalize=args.normalize,
            augment_rng=None,
            name_rate=0,
            sentence_rate=0,
        )
    except (HarvesterError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    random.Random(args.seed).shuffle(train)
    write_docbin(train, args.output / "train.spacy")
    write_docbin(dev, args.output / "dev.spacy")
    # File names only: the manifest ends up in the shipped model's meta.json.
    options = {key: value for key, value in vars(args).items() if key != "output"}
    options["train"] = [path.name for path in args.train]
    options["dev"] = [path.name for path in args.dev]
    manifest = {"options": options, "train_docs": len(train), "dev_docs": len(dev)}
    (args.output / "manifest.json").write_text(
        json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
