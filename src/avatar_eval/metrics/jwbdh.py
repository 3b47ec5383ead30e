"""Metrics module 'jwbdh' (registered lazily by avatar_eval.metrics.registry)."""
