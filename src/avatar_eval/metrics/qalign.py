"""Metrics module 'qalign' (registered lazily by avatar_eval.metrics.registry)."""
