"""Metrics module 'hands' (registered lazily by avatar_eval.metrics.registry)."""
