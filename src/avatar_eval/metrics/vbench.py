"""Metrics module 'vbench' (registered lazily by avatar_eval.metrics.registry)."""
