"""Metrics module 'syncnet' (registered lazily by avatar_eval.metrics.registry)."""
