"""Case augmentation: extra copies of sentences with names lower-cased or title-cased.

Posts often write names in lower case ("met mrs okonkwo today"), which the stock
model misses because its features include the word shape. Copies with changed case
teach the model to rely on context as well.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from harvester.tagging.train.conll import Sentence, bio_spans


def _recase(
    sentence: Sentence, spans: Sequence[tuple[int, int]], change: str
) -> Sentence:
    inside = {index for start, end in spans for index in range(start, end)}
    words = list(sentence.words)
    for index in inside:
        words[index] = (
            words[index].lower() if change == "lower" else words[index].title()
        )
    return Sentence(tuple(words), sentence.tags)


def case_variants(
    sentence: Sentence,
    label: str,
    rng: random.Random,
    *,
    name_rate: float,
    sentence_rate: float,
) -> Iterator[Sentence]:
    """Yield extra copies of ``sentence`` with changed case; the tags stay the same.

    With probability ``name_rate`` a sentence with people gets a copy with the names
    lower-cased, or title-cased when they are already all lower case. With
    probability ``sentence_rate`` any sentence gets a fully lower-cased copy.
    """
    spans = list(bio_spans(sentence.tags, label))
    if spans and rng.random() < name_rate:
        names = [word for start, end in spans for word in sentence.words[start:end]]
        change = "title" if all(word.islower() for word in names) else "lower"
        yield _recase(sentence, spans, change)
    if rng.random() < sentence_rate:
        yield Sentence(tuple(word.lower() for word in sentence.words), sentence.tags)
