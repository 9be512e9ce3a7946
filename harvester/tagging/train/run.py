"""Train the person NER with ``spacy train`` on the CPU and install it in the package.

    python -m harvester.tagging.train.run --corpus /tmp/harvester-ner/corpus \\
        --output /tmp/harvester-ner/run --install harvester/tagging/model/ner

Reads train.spacy and dev.spacy written by ``prepare``. spaCy keeps the model with
the best PERSON F1 on the development corpus as model-best, and ``--install``
copies that one, with a config that loads without this module.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import spacy
from spacy.cli.train import train
from spacy.language import Language
from thinc.api import Config

log = logging.getLogger(__name__)

CONFIG = Path(__file__).resolve().parent / "config.cfg"
PACKAGE_MODEL = Path(__file__).resolve().parent.parent / "model" / "ner"


@spacy.registry.callbacks("harvester.copy_lookups.v1")
def copy_lookups(source: str) -> Callable[[Language], Language]:
    """Make a callback that gives the new pipeline the lexeme norm tables of ``source``.

    The sourced NER was trained on NORM features computed with those tables (for
    example "colour" -> "color"); without them the features would shift.
    """

    def before_init(nlp: Language) -> Language:
        nlp.vocab.lookups = spacy.load(
            source, exclude=["tagger", "parser", "lemmatizer"]
        ).vocab.lookups
        log.info("copied lookups tables %s from %s", nlp.vocab.lookups.tables, source)
        return nlp

    return before_init


def install(model_best: Path, target: Path, meta_extra: dict[str, object]) -> None:
    """Copy ``model_best`` to ``target`` with a config and meta that no longer need this module."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(model_best, target)

    config = Config().from_disk(target / "config.cfg", interpolate=False)
    config["initialize"]["before_init"] = None
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config.to_disk(target / "config.cfg")

    meta_path = target / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(meta_extra)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log.info("installed %s as %s", model_best, target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        required=True,
        help="folder with train.spacy and dev.spacy",
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="spacy train output folder"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIG,
        help=f"training config (default {CONFIG.name})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of spaCy's training loop"
    )
    parser.add_argument("--epochs", type=int, help="override training.max_epochs")
    parser.add_argument(
        "--learn-rate", type=float, help="override training.optimizer.learn_rate"
    )
    parser.add_argument(
        "--install",
        type=Path,
        nargs="?",
        const=PACKAGE_MODEL,
        help=f"copy model-best here (default {PACKAGE_MODEL})",
    )
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="skip training and install the model-best already in --output",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    for name in ("train.spacy", "dev.spacy"):
        if not (args.corpus / name).is_file():
            print(
                f"error: {args.corpus / name} not found; run harvester.tagging.train.prepare first",
                file=sys.stderr,
            )
            return 1

    overrides: dict[str, object] = {
        "paths.train": str(args.corpus / "train.spacy"),
        "paths.dev": str(args.corpus / "dev.spacy"),
        "system.seed": args.seed,
    }
    if args.epochs is not None:
        overrides["training.max_epochs"] = args.epochs
    if args.learn_rate is not None:
        overrides["training.optimizer.learn_rate"] = args.learn_rate
    if not args.no_train:
        train(args.config, args.output, use_gpu=-1, overrides=overrides)
    elif not (args.output / "model-best").is_dir():
        print(
            f"error: {args.output / 'model-best'} not found; run without --no-train first",
            file=sys.stderr,
        )
        return 1

    if args.install is not None:
        manifest_path = args.corpus / "manifest.json"
        manifest = (
            json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest_path.is_file()
            else {}
        )
        training = Config().from_disk(args.config, interpolate=False)["training"]
        extra = {
            "name": "harvester_person_ner",
            "description": "en_core_web_sm 3.8 NER fine-tuned for PERSON on posts, with email-style rehearsal",
            "harvester_training": {
                "train_seed": args.seed,
                "max_epochs": args.epochs
                if args.epochs is not None
                else training["max_epochs"],
                "learn_rate": args.learn_rate
                if args.learn_rate is not None
                else training["optimizer"]["learn_rate"],
                "corpus": manifest,
            },
        }
        install(args.output / "model-best", args.install, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
