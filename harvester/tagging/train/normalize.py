"""Tweet-aware normalisation of given tokens, applied the same way in training and scoring.

Only token texts change, never their number, so predicted spans map back to the
original tokens one to one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A hashtag whose body starts with a letter, such as "#JohnSmith" or "#npqh".
HASHTAG = re.compile(r"^#+(?=[^\W\d_])")


def normalize_token(word: str) -> str:
    """Return ``word`` without a leading hashtag sign, so "#JohnSmith" reads as a name.

    spaCy's English tokenizer already splits "#" off as a prefix in running text,
    so this only matters for pre-tokenized input such as the CoNLL sets.
    """
    return HASHTAG.sub("", word)


def normalize_words(words: Sequence[str]) -> list[str]:
    """Normalise each token of a sentence with ``normalize_token``."""
    return [normalize_token(word) for word in words]
