"""Metrics module 'idc' (registered lazily by avatar_eval.metrics.registry)."""
