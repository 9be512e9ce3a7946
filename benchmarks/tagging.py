"""Compare the throughput of the project's tagger with the plain spaCy pipeline.

Run: ``.venv/bin/python -m benchmarks.tagging [--texts 2000] [--rounds 3]``

Both sides tag the same generated story texts (``benchmarks.corpus``) in one process
with the same batch size:

- "plain" is en_core_web_sm with all its components, as ``spacy.load`` gives it.
- "plain NER only" is the same pipeline with every component but the NER excluded.
- "tagger" is ``Tagger.tag_texts`` with the default config: tweet-aware rewrite,
  NER, gazetteer with fuzzy matching, title and sign-off rules, mention resolution.

Each side reports the run with the least CPU time of ``--rounds`` runs. The ratios
compare texts per CPU second of this process.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import spacy

from benchmarks.corpus import CorpusGenerator
from benchmarks.measure import Stopwatch, machine
from harvester.config import Config
from harvester.tagging import Tagger
from harvester.tagging.commands import load_plain_pipeline
from harvester.tagging.nlp import UNUSED_COMPONENTS


def story_texts(count: int, seed: int = 2026) -> list[str]:
    generator = CorpusGenerator(seed=seed)
    return [generator.story_text(long=index % 4 == 0)[0] for index in range(count)]


def best_rate(run: Any, count: int, rounds: int) -> dict[str, float]:
    """Run ``run()`` ``rounds`` times and return the rates of the run with least CPU time."""
    runs = []
    for _ in range(rounds):
        watch = Stopwatch()
        with watch.running():
            run()
        runs.append(watch.rates(count))
    return max(runs, key=lambda rates: rates["per_cpu_second"])


def measure(count: int, rounds: int, batch_size: int) -> dict[str, Any]:
    texts = story_texts(count)
    plain = load_plain_pipeline("en_core_web_sm")
    ner_only = spacy.load(plain.path, exclude=list(UNUSED_COMPONENTS))
    tagger = Tagger.from_config(Config())
    tagger.tag_texts(texts[:50])  # builds the matchers before timing

    def consume(pipeline: Any) -> None:
        for _doc in pipeline.pipe(texts, batch_size=batch_size):
            pass

    results = {
        "plain": best_rate(lambda: consume(plain), count, rounds),
        "plain NER only": best_rate(lambda: consume(ner_only), count, rounds),
        "tagger": best_rate(lambda: tagger.tag_texts(texts), count, rounds),
    }
    # Texts per CPU second, because other work on a shared machine skews wall-clock rates.
    ratio = results["tagger"]["per_cpu_second"] / results["plain"]["per_cpu_second"]
    ratio_ner_only = (
        results["tagger"]["per_cpu_second"]
        / results["plain NER only"]["per_cpu_second"]
    )
    return {
        "texts": count,
        "batch_size": batch_size,
        "rounds": rounds,
        "ner_model": Config().nlp.ner_model,
        "machine": machine(),
        "results": results,
        "tagger_vs_plain": round(ratio, 3),
        "tagger_vs_plain_ner_only": round(ratio_ner_only, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--texts", type=int, default=2000, help="number of story texts to tag"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        choices=range(1, 11),
        metavar="1-10",
        help="timed runs per side",
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="nlp.pipe batch size"
    )
    arguments = parser.parse_args()
    print(
        json.dumps(
            measure(arguments.texts, arguments.rounds, arguments.batch_size), indent=2
        )
    )


if __name__ == "__main__":
    main()
