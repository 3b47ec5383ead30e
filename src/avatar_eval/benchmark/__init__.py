"""Benchmark builder: raw videos -> annotated, filtered benchmark (docs/benchmark.md)."""
