"""Metrics module 'identity' (registered lazily by avatar_eval.metrics.registry)."""
