"""Metrics module 'theval_quality' (registered lazily by avatar_eval.metrics.registry)."""
