"""Throughput and memory benchmarks; run ``python -m benchmarks.throughput --help``."""
