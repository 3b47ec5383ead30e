"""Per-clip distributions as inline SVG: every clip a point you can hover and click.

:func:`strip_svg` draws one panel per metric of a leaderboard section and one line per model: a
box (quartiles, median, whiskers to the furthest clip within 1.5 IQR) and every clip as a dot
(jittered vertically from a fixed seed) whose tooltip names the clip and its value and whose link
opens the clip's drill-down. Written directly as SVG text because the report draws thousands of
points: matplotlib took 16 s for the 10,000 points of ``benchmarks/report_speed.py`` on the
project's 2-core CPU, this takes well under one (docs/reports.md). Quartiles are numpy's
(``np.percentile``, linear interpolation).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["PALETTE", "strip_svg"]

#: matplotlib's tab10, so the SVG and the PNG plots colour models alike
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]

_W, _LEFT, _RIGHT, _ROW, _HEAD, _FOOT = 760, 130, 16, 18, 18, 16


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def strip_svg(
    panels: Sequence[tuple[str, Mapping[str, Sequence[tuple[str, float]]]]],
    models: Sequence[str],
    *,
    link: Callable[[str, str], str] | None = None,
) -> str | None:
    """SVG text: ``panels`` = (metric label, model -> [(clip, value)]); ``link(model, clip)`` ->
    href of a point. None when no panel has a finite value."""
    rng = np.random.default_rng(0)
    colour = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    panel_h = _HEAD + _ROW * len(models) + _FOOT
    kept = []
    for label, vals in panels:
        clean = {m: [(c, float(v)) for c, v in vals.get(m, ()) if math.isfinite(float(v))] for m in models}
        if any(clean.values()):
            kept.append((label, clean))
    if not kept:
        return None
    h = panel_h * len(kept) + 4
    out = [(f"<svg class='dist' xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{h}' "
            f"viewBox='0 0 {_W} {h}' font-family='sans-serif' font-size='10'>")]
    plot_w = _W - _LEFT - _RIGHT
    for p, (label, vals) in enumerate(kept):
        top = p * panel_h
        allv = np.array([v for pts in vals.values() for _, v in pts])
        lo, hi = float(allv.min()), float(allv.max())
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            pad = max(abs(hi) * 0.05, 1e-9)
            lo, hi = lo - pad, hi + pad
        else:
            pad = (hi - lo) * 0.04
            lo, hi = lo - pad, hi + pad

        def x(v: float, lo: float = lo, hi: float = hi) -> float:
            return _LEFT + (v - lo) / (hi - lo) * plot_w

        out.append(f"<text x='4' y='{top + 12}' font-weight='bold'>{_e(label)}</text>")
        base = top + _HEAD + _ROW * len(models)
        out.append(f"<line x1='{_LEFT}' x2='{_W - _RIGHT}' y1='{base}' y2='{base}' stroke='#999'/>")
        for t in np.linspace(lo + pad, hi - pad, 5) if hi - lo > 2 * pad else [lo + pad]:
            out.append(f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{top + _HEAD}' y2='{base + 3}' stroke='#eee'/>"
                       f"<text x='{x(t):.1f}' y='{base + 13}' text-anchor='middle' fill='#555'>{_fmt(t)}</text>")
        for i, m in enumerate(models):
            y = top + _HEAD + _ROW * i + _ROW / 2
            out.append(f"<text x='{_LEFT - 6}' y='{y + 3.5:.1f}' text-anchor='end'>{_e(m[:22])}</text>")
            pts = vals.get(m, [])
            if not pts:
                continue
            v = np.array([a for _, a in pts])
            if v.size >= 3:
                q1, med, q3 = np.percentile(v, [25, 50, 75])
                iqr = q3 - q1
                wl = float(v[v >= q1 - 1.5 * iqr].min())
                wh = float(v[v <= q3 + 1.5 * iqr].max())
                out.append(f"<g stroke='#666' fill='none'><line x1='{x(wl):.1f}' x2='{x(q1):.1f}' y1='{y:.1f}' "
                           f"y2='{y:.1f}'/><line x1='{x(q3):.1f}' x2='{x(wh):.1f}' y1='{y:.1f}' y2='{y:.1f}'/>"
                           f"<rect x='{x(q1):.1f}' y='{y - 6:.1f}' width='{max(0.5, x(q3) - x(q1)):.1f}' height='12' "
                           f"fill='#f4f4f4'/><line x1='{x(med):.1f}' x2='{x(med):.1f}' y1='{y - 6:.1f}' "
                           f"y2='{y + 6:.1f}' stroke='#222'/></g>")
            jit = rng.uniform(-5.0, 5.0, v.size)
            for (clip, a), j in zip(pts, jit):
                dot = (f"<circle cx='{x(a):.1f}' cy='{y + j:.1f}' r='2.5' fill='{colour[m]}' fill-opacity='0.75'>"
                       f"<title>{_e(m)} · {_e(clip)}: {_fmt(a)}</title></circle>")
                out.append(f"<a href='{_e(link(m, clip))}'>{dot}</a>" if link is not None else dot)
    out.append("</svg>")
    return "".join(out)
