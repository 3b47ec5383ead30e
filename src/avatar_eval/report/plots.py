"""Plots of the HTML report (matplotlib Agg, PNG bytes; the radar chart is :mod:`.radar`, the
per-clip distributions are inline SVG, :mod:`.svg`).

* :func:`region_bars_png`: JWB-DH per-region bars: one panel per metric, regions on the x axis,
  one bar per model (mean, 95 % CI as the error bar);
* :func:`scatter_png`: a metric against human preference (one point per model), when the run
  has study results.

Drawn on :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no display),
so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["region_bars_png", "scatter_png"]

DPI = 80


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _colours(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def region_bars_png(
    panels: Sequence[tuple[str, Sequence[str], Mapping[str, Sequence[tuple[float, float, float]]]]],
    models: Sequence[str],
) -> bytes | None:
    """``panels``: (metric label, region labels, model -> per region (mean, ci_lo, ci_hi)).
    None when nothing has a value."""
    panels = [p for p in panels if any(math.isfinite(t[0]) for v in p[2].values() for t in v)]
    if not panels:
        return None
    colours = dict(zip(models, _colours(len(models))))
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = _figure(3.3 * cols + 1.2, 2.5 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    width = 0.8 / max(1, len(models))
    for ax, (label, regions, vals) in zip(axes, panels):
        x = np.arange(len(regions))
        for i, m in enumerate(models):
            trip = np.asarray(vals.get(m, [(math.nan,) * 3] * len(regions)), dtype=float).reshape(-1, 3)
            mean, lo, hi = trip[:, 0], trip[:, 1], trip[:, 2]
            err = np.vstack([np.where(np.isfinite(lo), mean - lo, 0.0), np.where(np.isfinite(hi), hi - mean, 0.0)])
            ax.bar(x + (i - (len(models) - 1) / 2) * width, np.nan_to_num(mean), width, color=colours[m],
                   label=m, yerr=err.tolist(), error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_xticks(x)
        ax.set_xticklabels(regions, fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return _png(fig)


def scatter_png(points: Sequence[tuple[str, float, float]], *, xlabel: str, ylabel: str, title: str = "") -> bytes | None:
    """One point per (label, x, y); None with fewer than two finite points."""
    pts = [(lab, x, y) for lab, x, y in points if math.isfinite(x) and math.isfinite(y)]
    if len(pts) < 2:
        return None
    fig = _figure(3.6, 3.0)
    ax = fig.subplots()
    colours = _colours(len(pts))
    for (lab, x, y), c in zip(pts, colours):
        ax.scatter([x], [y], color=c, s=22)
        ax.annotate(textwrap.shorten(lab, 18, placeholder="…"), (x, y), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel(textwrap.shorten(xlabel, 48, placeholder="…"), fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return _png(fig)
