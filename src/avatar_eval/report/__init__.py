"""Plots and human-readable reports.

* :func:`avatar_eval.report.build.build_reports` writes every report file of a run directory from
  its records and ``run.json`` (``avatar-eval run`` after a run, ``avatar-eval report`` any time);
* :func:`avatar_eval.report.metadata.metric_metadata`: each metric's direction / units from ``run.json``;
* :func:`avatar_eval.report.terminal.show_run` prints a run's leaderboard (``avatar-eval show``);
* :mod:`avatar_eval.report.radar` draws radar charts.

Submodules are imported on first use (matplotlib / rich are not loaded by ``import avatar_eval.report``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["build_reports", "metric_metadata", "radar_chart", "show_run"]

_LAZY = {
    "build_reports": "avatar_eval.report.build",
    "metric_metadata": "avatar_eval.report.metadata",
    "radar_chart": "avatar_eval.report.radar",
    "show_run": "avatar_eval.report.terminal",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
