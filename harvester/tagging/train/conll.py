"""Read CoNLL files (token TAB BIO tag, blank line between sentences) and their person spans."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harvester.errors import UsageError

# Person labels of the public Twitter NER sets: WNUT-17 writes `person`, the
# Broad Twitter Corpus writes `PER`.
PERSON_LABELS = ("person", "PER")


@dataclass(frozen=True)
class Sentence:
    """One CoNLL sentence: its tokens as given (some may be empty) and their BIO tags."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


def read_conll(path: Path) -> list[Sentence]:
    """Read ``path`` into sentences; a line holding only whitespace ends a sentence."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(
            f"cannot read CoNLL file {path}: {error}; pass a UTF-8 token<TAB>tag file"
        ) from error

    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if words:
                sentences.append(Sentence(tuple(words), tuple(tags)))
                words, tags = [], []
            continue
        token, separator, tag = line.rpartition("\t")
        if not separator or not _is_bio(tag):
            raise UsageError(
                f"{path}:{number}: expected token<TAB>BIO tag, got {line!r}"
            )
        words.append(token)
        tags.append(tag)
    if words:
        sentences.append(Sentence(tuple(words), tuple(tags)))
    return sentences


def _is_bio(tag: str) -> bool:
    return tag == "O" or (len(tag) > 2 and tag[:2] in ("B-", "I-"))


def detect_person_label(sentences: Sequence[Sentence]) -> str:
    """Return which of ``PERSON_LABELS`` the sentences use, raising when neither appears."""
    seen = {tag[2:] for sentence in sentences for tag in sentence.tags if tag != "O"}
    for label in PERSON_LABELS:
        if label in seen:
            return label
    raise UsageError(
        f"no person label ({' or '.join(PERSON_LABELS)}) found; labels seen: {sorted(seen)}"
    )


def bio_spans(tags: Sequence[str], label: str) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) token ranges of entities of ``label``, end exclusive.

    As in conlleval, an I- tag that does not continue an entity of the same type
    starts a new one, and every B- tag starts a new one, so ``@`` B-PER followed by
    ``name`` B-PER is two entities.
    """
    start: int | None = None
    for index, tag in enumerate(tags):
        prefix, kind = (tag[:2], tag[2:]) if tag != "O" else ("O", "")
        continues = prefix == "I-" and kind == label and start is not None
        if start is not None and not continues:
            yield start, index
            start = None
        if kind == label and start is None:
            start = index
    if start is not None:
        yield start, len(tags)


def join_mentions(sentence: Sentence) -> Sentence:
    """Merge each lone ``@`` token with the token after it, as in the raw post.

    The Broad Twitter Corpus splits an @mention into ``@`` and the handle and tags
    both (``@`` B-PER, ``handle`` B-PER), while spaCy's tokenizer keeps "@handle"
    as one token. The merged token takes the tag of ``@``, or the handle's tag with
    a B- prefix when ``@`` is O.
    """
    words: list[str] = []
    tags: list[str] = []
    index = 0
    while index < len(sentence.words):
        word, tag = sentence.words[index], sentence.tags[index]
        following = sentence.words[index + 1] if index + 1 < len(sentence.words) else ""
        if word == "@" and following.strip() and not following.startswith("@"):
            following_tag = sentence.tags[index + 1]
            if tag == "O" and following_tag != "O":
                tag = "B-" + following_tag[2:]
            words.append(word + following)
            tags.append(tag)
            index += 2
            continue
        words.append(word)
        tags.append(tag)
        index += 1
    return Sentence(tuple(words), tuple(tags))
