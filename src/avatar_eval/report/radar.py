"""Radar (spider) charts of per-model scores, written atomically as PNG (matplotlib Agg).

* THEval: the eight normalised metric scores (``kind="metrics"``) or the three dimension scores
  (``kind="dimensions"``) of a :class:`~avatar_eval.protocols.theval_score.THEvalResult`.
* Any run: :func:`normalised_metric_frame` puts metrics on one 0..1 scale (1 = best model of the
  run; ≈GT metrics use THEval's 1 − |m − m_GT| / |m_GT| against the run's GT clips).

A model without a value on an axis gets a gap in its outline (never a made-up point) and no fill.
The figure is drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly, so the
global pyplot backend/state is left alone.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..results.schema import GT_MODEL
from ..results.store import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from ..protocols.theval_score import THEvalResult

__all__ = ["normalised_metric_frame", "radar_chart", "radar_png_bytes", "theval_radar_frame"]


def theval_radar_frame(result: "THEvalResult", kind: Literal["metrics", "dimensions"] = "metrics") -> pd.DataFrame:
    """models x axes frame of THEval scores (axes with no value for any model are dropped)."""
    from ..protocols.theval_score import DIMENSIONS, SLOTS

    if result.table.empty:
        return pd.DataFrame()
    t = result.table.set_index("model")
    if kind == "metrics":
        df = t[[f"score.{s.key}" for s in SLOTS]].copy()
        df.columns = [
            s.key.replace("_", " ") + (f" ({result.head_motion})" if s.key == "head_motion"
                                       and result.head_motion != "facexformer" else "")
            for s in SLOTS
        ]
    elif kind == "dimensions":
        df = t[list(DIMENSIONS)].copy()
    else:
        raise ValueError(f"kind must be 'metrics' or 'dimensions', got {kind!r}")
    return df.astype(float).dropna(axis=1, how="all")


def normalised_metric_frame(
    summary: pd.DataFrame,
    directions: Mapping[str, str] | None = None,
    *,
    gt_model: str = GT_MODEL,
) -> pd.DataFrame:
    """models x metrics frame of scores on a common scale, from an aggregate summary.

    ``higher``: (m − min) / (max − min) over the run's models; ``lower``: (max − m) / (max − min);
    ``gt``: 1 − |m − m_GT| / |m_GT| with the GT clips' mean. Metrics with an unknown direction, a
    single distinct value, or (for ``gt``) no non-zero GT value are left out. The GT model is not
    an axis row.
    """
    from ..results.export import metric_direction

    if summary.empty:
        return pd.DataFrame()
    s = summary[summary["level"] == "sample"]
    s = s.assign(col=[m if r == "full" else f"{m} @{r}" for m, r in zip(s["metric"], s["region"])])
    wide = s.pivot_table(index="model", columns="col", values="mean", aggfunc="first")
    metric_of = dict(zip(s["col"], s["metric"]))
    out = {}
    models = [m for m in wide.index if m != gt_model]
    for col in wide.columns:
        d = (directions or {}).get(metric_of[col]) or metric_direction(metric_of[col])
        v = wide.loc[models, col].astype(float)
        if v.notna().sum() == 0:
            continue
        if d == "gt":
            if gt_model not in wide.index or not np.isfinite(wide.loc[gt_model, col]):
                continue
            g = float(wide.loc[gt_model, col])
            if abs(g) <= 1e-9:
                continue
            out[col] = 1.0 - (v - g).abs() / abs(g)
        elif d in ("higher", "lower"):
            lo, hi = v.min(), v.max()
            if not hi > lo:
                continue
            out[col] = (v - lo) / (hi - lo) if d == "higher" else (hi - v) / (hi - lo)
    return pd.DataFrame(out, index=models)


def radar_png_bytes(
    scores: pd.DataFrame,
    *,
    title: str = "",
    subtitle: str = "",
    dpi: int = 120,
) -> bytes:
    """PNG bytes of a radar chart: one outline per row (model), one axis per column."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if scores.shape[1] < 3:
        raise ValueError(f"a radar chart needs at least 3 axes, got {scores.shape[1]}")
    if scores.shape[0] < 1:
        raise ValueError("a radar chart needs at least one model")
    vals = scores.to_numpy(dtype=float)
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        raise ValueError("no finite score to plot")
    n_axes = scores.shape[1]
    angles = np.linspace(0.0, 2.0 * math.pi, n_axes, endpoint=False)
    closed = np.concatenate([angles, angles[:1]])
    r_lo = min(0.0, float(finite.min()))
    r_hi = max(1.0, float(finite.max()))

    fig = Figure(figsize=(8.0, 7.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2.0)
    ax.set_theta_direction(-1)
    ax.set_ylim(r_lo, r_hi)
    ax.set_xticks(angles)
    ax.set_xticklabels([textwrap.fill(str(c), 16) for c in scores.columns], fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    cmap = matplotlib.colormaps["tab10" if len(scores) <= 10 else "tab20"]
    for i, (model, row) in enumerate(scores.iterrows()):
        v = row.to_numpy(dtype=float)
        loop = np.concatenate([v, v[:1]])
        n_ok = int(np.isfinite(v).sum())
        label = str(model) if n_ok == n_axes else f"{model} ({n_ok}/{n_axes} axes)"
        color = cmap(i % cmap.N)
        ax.plot(closed, loop, color=color, linewidth=1.8, label=label, marker="o", markersize=3)
        if n_ok == n_axes:
            ax.fill(closed, loop, color=color, alpha=0.10)
    if r_lo < 0.0:
        ax.plot(np.linspace(0, 2 * math.pi, 200), np.zeros(200), color="0.4", linewidth=0.8, linestyle="--")
    ax.legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12)
    if subtitle:
        fig.text(0.5, 0.02, subtitle, ha="center", fontsize=8, wrap=True)
    fig.subplots_adjust(left=0.12, right=0.70, top=0.88, bottom=0.1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def radar_chart(
    scores: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    subtitle: str = "",
    dpi: int = 120,
) -> Path:
    """Write a radar chart of ``scores`` (models x axes) to ``path`` atomically; returns the path."""
    data = radar_png_bytes(scores, title=title, subtitle=subtitle, dpi=dpi)
    atomic_write_bytes(path, data)
    return Path(path)
