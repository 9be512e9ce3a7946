"""Measuring helpers shared by the benchmark stages: clocks, memory, machine, databases."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "HARVESTER_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB (VmHWM, else ru_maxrss)."""
    kib = _status_kib("VmHWM")
    if kib is None:
        # ru_maxrss is in KiB on Linux.
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024, 1)


def rss_mib() -> float:
    """Return this process's current resident set size in MiB."""
    kib = _status_kib("VmRSS") or 0
    return round(kib / 1024, 1)


@dataclass
class Stopwatch:
    """Wall-clock and CPU seconds of one timed step, with the 1-minute load average before and after."""

    wall: float = 0.0
    cpu: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    @contextmanager
    def running(self) -> Iterator[Stopwatch]:
        self.load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        yield self
        self.wall = time.perf_counter() - wall
        self.cpu = time.process_time() - cpu
        self.load_after = os.getloadavg()[0]

    def rates(self, count: int) -> dict[str, float]:
        """Return ``count`` per wall second and per CPU second of this process, with the timings."""
        return {
            "count": count,
            "seconds": round(self.wall, 3),
            "cpu_seconds": round(self.cpu, 3),
            "per_second": round(count / self.wall, 1) if self.wall else 0.0,
            "per_cpu_second": round(count / self.cpu, 1) if self.cpu else 0.0,
            "load_average": [round(self.load_before, 2), round(self.load_after, 2)],
        }


def machine() -> dict[str, Any]:
    """Describe the machine: cores, memory, CPU model, Python and spaCy versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    import spacy

    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "platform": platform.platform(),
    }


@contextmanager
def throwaway_postgres(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create an empty PostgreSQL database for one measurement and drop it afterwards."""
    name = f"harvester_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def postgres_available(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """Return None when PostgreSQL accepts a connection at ``admin_url``, else the error text."""
    try:
        engine = create_engine(admin_url)
        with engine.connect():
            pass
        engine.dispose()
    except SQLAlchemyError as error:  # SQLAlchemy wraps the driver's connection errors
        return str(error).splitlines()[0]
    return None


class StageError(RuntimeError):
    """A benchmark stage run in a subprocess failed; the message contains the end of its stderr."""


def run_stage(
    module: str, *arguments: str, timeout: float | None = None
) -> dict[str, Any]:
    """Run ``python -m module arguments`` in a fresh process and return the JSON it prints.

    A fresh process per measurement keeps one stage's memory out of the next
    stage's peak RSS.
    """
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")])
    )
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise StageError(
            f"{module} {' '.join(arguments)} failed with exit code {completed.returncode}:\n{tail}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise StageError(
            f"{module} {' '.join(arguments)} printed no JSON result; stdout: {completed.stdout[-500:]!r}"
        )
    return json.loads(lines[-1])


def print_result(result: dict[str, Any]) -> None:
    """Print a stage's result as one JSON line, the form ``run_stage`` reads."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
