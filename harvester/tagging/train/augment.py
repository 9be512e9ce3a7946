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


def _cased_like(original: Sequence[str], word: str) -> str:
    if all(token.islower() for token in original):
        return word.lower()
    if all(token.isupper() for token in original if token.isalpha()) and any(
        token.isalpha() for token in original
    ):
        return word.upper()
    return word.title()


def name_swaps(
    sentence: Sentence,
    label: str,
    rng: random.Random,
    *,
    rate: float,
    first_names: Sequence[str],
    surnames: Sequence[str],
) -> Iterator[Sentence]:
    """Yield a copy of ``sentence`` with each person replaced by a name from the lists.

    With probability ``rate`` a sentence with people gets one copy. A one-word person
    becomes a first name, or one time in four a surname. A longer one becomes a
    first name and a surname. The case follows the original name's case. @handles
    and the Broad Twitter Corpus's lone ``@`` keep their words. The training sets
    hold few distinct names, so the model otherwise learns those names rather than
    the places where names occur.
    """
    spans = list(bio_spans(sentence.tags, label))
    if not spans or rng.random() >= rate:
        return
    words = list(sentence.words)
    tags = list(sentence.tags)
    changed = False
    for start, end in reversed(spans):
        original = sentence.words[start:end]
        after_at = start > 0 and sentence.words[start - 1] == "@"
        if after_at or any(word.startswith(("@", "#")) for word in original):
            continue
        if not any(word.isalpha() for word in original):
            continue
        if end - start == 1:
            pool = surnames if rng.random() < 0.25 else first_names
            new = [rng.choice(pool)]
        else:
            new = [rng.choice(first_names), rng.choice(surnames)]
        new = [_cased_like(original, word) for word in new]
        words[start:end] = new
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (len(new) - 1)
        changed = True
    if changed:
        yield Sentence(tuple(words), tuple(tags))
