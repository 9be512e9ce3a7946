"""Tagging: people and training courses found in stories, and the people they refer to."""

from harvester.tagging.nlp import load_pipeline
from harvester.tagging.people import link_people, merge_people, split_alias
from harvester.tagging.tagger import Tagger
from harvester.tagging.training import link_training

__all__ = [
    "Tagger",
    "link_people",
    "link_training",
    "load_pipeline",
    "merge_people",
    "split_alias",
]
