"""Plots and human-readable reports.

* :func:`avatar_eval.report.build.build_reports` writes every report file of a run directory;
* :func:`avatar_eval.report.terminal.show_run` prints a run's leaderboard (``avatar-eval show``);
* :mod:`avatar_eval.report.radar` draws radar charts.

Submodules are imported on first use (matplotlib / rich are not loaded by ``import avatar_eval.report``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build_reports", "radar_chart", "show_run"]

_LAZY = {
    "build_reports": "avatar_eval.report.build",
    "radar_chart": "avatar_eval.report.radar",
    "show_run": "avatar_eval.report.terminal",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
