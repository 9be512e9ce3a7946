"""Tests of the benchmark's timing helpers. The benchmarks themselves do not run here."""

from __future__ import annotations

from typing import Any

from benchmarks.stages import PipeTimer


class Pipeline:
    """A stand-in for a spaCy pipeline whose ``pipe`` yields upper-cased texts."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def pipe(self, texts: Any, **options: Any) -> Any:
        self.calls.append(options)
        return (text.upper() for text in texts)


def test_pipe_timer_counts_first_pass_only() -> None:
    nlp = Pipeline()
    timer = PipeTimer(nlp)

    first = list(nlp.pipe(iter(["mrs okonkwo", "npqh"]), batch_size=2))
    recased = list(nlp.pipe(iter(["Mrs Okonkwo"]), disable=["harvester_training"]))

    assert first == ["MRS OKONKWO", "NPQH"]
    assert recased == ["MRS OKONKWO"]
    assert timer.docs == 2
    assert timer.wall > 0
    assert nlp.calls == [{"batch_size": 2}, {"disable": ["harvester_training"]}]
    assert timer.rates()["count"] == 2
