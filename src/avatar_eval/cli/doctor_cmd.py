"""``avatar-eval doctor`` (placeholder while it is written)."""

from __future__ import annotations


def doctor() -> None:
    """Check that this install reproduces the reference numbers."""
    raise SystemExit("not yet")
