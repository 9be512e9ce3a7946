"""Benchmark stages that each run in a fresh process and print one JSON result.

``nlp``: the NLP limit L, which is ``nlp.pipe`` alone over the texts the product's
tagger feeds its pipeline, then the whole ``Tagger.tag`` on the same stories.
``harvest``: end-to-end E, a twarc file imported by ``harvester.pipeline.harvest``
until every tagged story is committed, on the database URL given, and L again, timed
inside that harvest (``PipeTimer``).

Both stages load the same tagger from the same config and tag the same warm-up
texts before the clock starts, so model loading and first-call set-up are not
counted in either rate.

Run one by hand with ``python -m benchmarks.stages nlp --corpus FILE``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.corpus import CorpusGenerator
from benchmarks.measure import Stopwatch, peak_rss_mib, print_result, rss_mib
from harvester.app import App
from harvester.classify import classify
from harvester.config import Config, config_from_dict
from harvester.parse import parse_item
from harvester.records import Story
from sources import open_source

SOURCE = "bench-posts"
WARM_UP_TEXTS = 64


def bench_config(
    corpus: Path, database_url: str, batch_size: int | None = None
) -> Config:
    """Return the config of a benchmark run: the default settings plus one twarc source."""
    source: dict[str, Any] = {"type": "twarc", "path": str(corpus)}
    if batch_size is not None:
        source["batch_size"] = batch_size
    return config_from_dict({"database": database_url, "sources": {SOURCE: source}})


def read_stories(config: Config) -> list[Story]:
    """Parse and classify the corpus with the product's own code; keep the stories."""
    stories = []
    for batch in open_source(config, SOURCE).fetch(None):
        for item in batch.items:
            story = parse_item(item)
            if classify(story).is_story:
                stories.append(story)
    return stories


def warm_up(tagger: Any) -> None:
    """Tag a few texts the corpus does not contain, so lazy set-up happens before timing."""
    generator = CorpusGenerator(seed=1)
    texts = [
        generator.story_text(long=index % 4 == 0)[0] for index in range(WARM_UP_TEXTS)
    ]
    tagger.tag_texts(texts)


def measure_nlp(corpus: Path, *, with_tagger: bool = True) -> dict[str, Any]:
    """Measure L (``nlp.pipe`` alone) on ``corpus``, then the whole tagger when ``with_tagger``."""
    config = bench_config(corpus, "sqlite://")
    app = App.from_config(config)
    loading = Stopwatch()
    with loading.running():
        tagger = app.tagger
    stories = read_stories(config)
    warm_up(tagger)

    # The texts exactly as Tagger.tag_texts hands them to nlp.pipe in its first pass.
    from harvester.tagging.text import identity, normalize

    rewrites = [
        (normalize(story.text) if tagger.tweet_aware else identity(story.text)).text
        for story in stories
    ]
    limit = Stopwatch()
    with limit.running():
        processed = 0
        for _doc in tagger.nlp.pipe(rewrites, batch_size=tagger.batch_size):
            processed += 1

    result = {
        "stories": len(stories),
        "pipeline": list(tagger.nlp.pipe_names),
        "nlp_batch_size": tagger.batch_size,
        "model_load_seconds": round(loading.wall, 2),
        "limit": limit.rates(processed),
    }
    if with_tagger:
        # The whole tagger, fed in chunks the size of the pipeline's batches.
        chunk = config.sources[SOURCE].batch_size
        tagging = Stopwatch()
        tags = 0
        with tagging.running():
            for start in range(0, len(stories), chunk):
                tags += sum(
                    len(found) for found in tagger.tag(stories[start : start + chunk])
                )
        result["tagger"] = {**tagging.rates(len(stories)), "tags": tags, "chunk": chunk}
    result["peak_rss_mib"] = peak_rss_mib()
    return result


class PipeTimer:
    """A timer of the tagger's first ``nlp.pipe`` pass while a harvest runs.

    That pass runs exactly what L measures, on the same texts, so its rate is L taken
    at the same moments as E, and their ratio does not depend on the machine's speed
    between runs. The recasing pass (called with the gazetteer component disabled) is
    tagger work beyond L, so it is not counted.
    """

    def __init__(self, nlp: Any) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.docs = 0
        self._pipe = nlp.pipe
        nlp.pipe = self._timed_pipe

    def _timed_pipe(self, texts: Any, **options: Any) -> Iterator[Any]:
        docs = self._pipe(texts, **options)
        if options.get("disable"):
            yield from docs
            return
        while True:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                doc = next(docs)
            except StopIteration:
                return
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
            self.docs += 1
            yield doc

    def rates(self) -> dict[str, float]:
        """Return docs per wall-clock and per CPU second, as ``Stopwatch.rates`` does."""
        rates = Stopwatch(wall=self.wall, cpu=self.cpu).rates(self.docs)
        # Stopwatch reads the load average around ``running()``, which is not used here.
        rates.pop("load_average", None)
        return rates


def measure_harvest(
    corpus: Path, database_url: str, batch_size: int | None = None
) -> dict[str, Any]:
    """Measure E: one harvest of ``corpus`` into ``database_url``, to committed tagged rows."""
    from harvester.pipeline import harvest
    from store.models import Story as StoryRow
    from store.models import TagRow

    config = bench_config(corpus, database_url, batch_size)
    app = App.from_config(config)
    app.db  # noqa: B018 - open and migrate the database before the clock starts
    warm_up(app.tagger)
    pipe = PipeTimer(app.tagger.nlp)
    rss_before = rss_mib()

    end_to_end = Stopwatch()
    with end_to_end.running():
        summary = harvest(app, SOURCE, trigger="benchmark")
    if summary.status != "ok":
        raise SystemExit(
            f"harvest of {corpus} ended with status {summary.status}: {summary.error}"
        )

    with app.db.read() as session:
        stories = session.scalar(select(func.count()).select_from(StoryRow)) or 0
        tags = session.scalar(select(func.count()).select_from(TagRow)) or 0
    app.close()
    return {
        "dialect": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "fetched": summary.fetched,
        "new": summary.new,
        "duplicates": summary.duplicates,
        "stories_stored": stories,
        "tags_stored": tags,
        "batch_size": config.sources[SOURCE].batch_size,
        "end_to_end": end_to_end.rates(summary.new),
        "limit_in_run": pipe.rates(),
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
    }


def measure_breakdown(corpus: Path, database_url: str) -> dict[str, Any]:
    """Run one harvest and split its time between the pipeline's steps.

    The step functions are wrapped with timers for this process only, so the split
    shows where the harvest spends time that ``nlp.pipe`` alone does not.
    """
    from harvester import pipeline

    spent: dict[str, Stopwatch] = {}

    def timed(module: Any, name: str, label: str) -> None:
        function = getattr(module, name)
        watch = spent.setdefault(label, Stopwatch())

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            step = Stopwatch()
            with step.running():
                value = function(*args, **kwargs)
            watch.wall += step.wall
            watch.cpu += step.cpu
            return value

        setattr(module, name, wrapper)

    timed(pipeline, "decide", "parse_and_classify")
    timed(pipeline, "tag_outcomes", "tagging")
    timed(pipeline, "store_outcomes", "store_rows")
    timed(pipeline, "link_entities", "link_entities")

    config = bench_config(corpus, database_url)
    app = App.from_config(config)
    app.db  # noqa: B018 - open and migrate the database before the clock starts
    warm_up(app.tagger)
    total = Stopwatch()
    with total.running():
        summary = pipeline.harvest(app, SOURCE, trigger="benchmark")
    app.close()
    # store_outcomes links the tags before it inserts them, so its timer includes the linking.
    spent["store_rows"].wall -= spent["link_entities"].wall
    spent["store_rows"].cpu -= spent["link_entities"].cpu
    steps = {
        label: {
            "seconds": round(watch.wall, 2),
            "cpu_seconds": round(watch.cpu, 2),
            "cpu_share": round(watch.cpu / total.cpu, 3) if total.cpu else 0.0,
        }
        for label, watch in spent.items()
    }
    other_cpu = total.cpu - sum(watch.cpu for watch in spent.values())
    steps["other"] = {
        "cpu_seconds": round(other_cpu, 2),
        "cpu_share": round(other_cpu / total.cpu, 3) if total.cpu else 0.0,
    }
    return {"stories": summary.new, "total": total.rates(summary.new), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=["nlp", "harvest", "breakdown"])
    parser.add_argument(
        "--corpus",
        type=Path,
        required=True,
        help="twarc2 JSONL file of generated posts",
    )
    parser.add_argument(
        "--database",
        default=None,
        help="SQLAlchemy URL of an empty store (harvest only)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="source batch size in items (harvest only)",
    )
    parser.add_argument(
        "--no-tagger",
        dest="tagger",
        action="store_false",
        help="time nlp.pipe only (nlp only)",
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if arguments.stage == "nlp":
        print_result(measure_nlp(arguments.corpus, with_tagger=arguments.tagger))
    elif not arguments.database:
        parser.error(f"{arguments.stage} needs --database URL")
    elif arguments.stage == "harvest":
        print_result(
            measure_harvest(arguments.corpus, arguments.database, arguments.batch_size)
        )
    else:
        print_result(measure_breakdown(arguments.corpus, arguments.database))


if __name__ == "__main__":
    main()
