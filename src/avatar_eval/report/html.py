"""``report.html``: one self-contained page per run (or per comparison of runs).

Works offline from the file alone: CSS and the sorting script are inline, plots are inline SVG or
PNGs embedded as ``data:`` URIs, frame strips are JPEGs embedded the same way. Sections:

* per protocol a leaderboard with **metrics as rows and models as columns** (THEval in Table 3
  order, JWB-DH regions x metrics; :func:`avatar_eval.report.layout.protocol_groups`), each cell
  ``mean [95 % CI] n=N`` from the summary (:func:`avatar_eval.results.aggregate.aggregate`, the
  project's one bootstrap), the direction arrow and unit next to the metric, the best of a row
  highlighted; click a header to sort the rows by that column;
* THEval final / dimension scores per model, the metrics averaged and the missing ones with the
  reason; the radar chart;
* plots: JWB-DH per-region bars, per-clip distributions of every section as inline SVG (every
  clip a dot linked to its drill-down, so outliers show and open), and
  metric vs human preference when the run has study results;
* "Why missing" (skipped records grouped by reason) and "Errors" (grouped by cause), flagged
  clips (degenerate input), then a drill-down per model and per clip: the clip's values, flags,
  skips and errors with their messages, a strip of frames (region boxes drawn when the run has
  them, :mod:`.frames`), a link to the video and a player on it (``preload='none'``: nothing is
  read until it is played);
* the run's config, versions, weights hashes and environment from ``run.json``.

Nothing here computes a metric: the page is made from records, ``run.json`` and the summary.
No timestamp is written, so the same records + ``run.json`` give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..results.aggregate import error_reason
from ..results.export import (
    ARROWS,
    BoardRow,
    Group,
    cell_text,
    leaderboard_rows,
)
from ..results.schema import DATASET, Record
from .layout import section_anchor

if TYPE_CHECKING:  # pragma: no cover
    from ..protocols.theval_score import THEvalResult
    from .build import ReportResult
    from .frames import StripCache

__all__ = ["Page", "RunPart", "render_page", "report_html", "sorted_records"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 2em 2em 2em; color: #222; line-height: 1.35; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: .4em 0; z-index: 2;
      font-size: .85em; }
nav a { margin-right: .9em; }
table { border-collapse: collapse; margin: .6em 0 1.2em 0; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
thead th { background: #f1f3f5; cursor: pointer; user-select: none; white-space: nowrap; }
thead th[data-dir=asc]::after { content: " ▲"; } thead th[data-dir=desc]::after { content: " ▼"; }
tbody th { background: #fafafa; font-weight: normal; }
td.best { background: #d3f9d8; font-weight: 600; }
td.none { color: #999; }
.note, small { color: #555; font-size: .85em; }
.unit { color: #777; font-size: .8em; }
pre { background: #f8f8f8; padding: .6em; white-space: pre-wrap; font-size: .8em; }
img.plot { max-width: 100%; border: 1px solid #eee; }
img.strip { display: block; max-width: 100%; margin: .3em 0; }
.clip { border-top: 1px solid #eee; padding-top: .4em; margin-top: .8em; }
.flag { background: #fff3bf; padding: 0 .3em; border-radius: 3px; }
.status-error { color: #c92a2a; } .status-skipped { color: #e67700; }
details summary { cursor: pointer; }
"""

_JS = """
function aeSort(th) {
  const tr = th.parentNode, t = th.closest('table'), i = Array.prototype.indexOf.call(tr.children, th);
  const asc = th.dataset.dir !== 'asc';
  tr.querySelectorAll('th').forEach(h => delete h.dataset.dir);
  th.dataset.dir = asc ? 'asc' : 'desc';
  const key = r => { const c = r.children[i]; const v = c ? c.dataset.v : undefined;
    return (v === undefined || v === '') ? null : (isNaN(+v) ? v : +v); };
  const body = t.tBodies[0], rows = Array.from(body.rows);
  rows.sort((a, b) => { const x = key(a), y = key(b);
    if (x === null && y === null) return 0; if (x === null) return 1; if (y === null) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
  rows.forEach(r => body.appendChild(r));
}
document.querySelectorAll('table.sortable thead th').forEach(th => th.addEventListener('click', () => aeSort(th)));
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _num(x: object, digits: int = 4) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _e(x)
    return "—" if math.isnan(v) else f"{v:.{digits}g}"


def _dv(x: object) -> str:
    """A sort key attribute value: a number as repr, NaN/None as ''."""
    if x is None:
        return ""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _e(x)
    return "" if not math.isfinite(v) else repr(v)


def anchor(*parts: str) -> str:
    """A stable HTML id for a (model, clip) or model: readable part + a short hash (no collisions)."""
    raw = "\x1f".join(parts)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", "-".join(parts))[:48]
    return f"{slug}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


def _img(data: bytes, alt: str, cls: str = "plot", mime: str = "image/png") -> str:
    return f"<img class='{cls}' alt='{_e(alt)}' src='data:{mime};base64,{base64.b64encode(data).decode('ascii')}'>"


@dataclass
class RunPart:
    """One run of a page (a report has one; a comparison several)."""

    label: str
    run_dir: Path
    run_info: dict[str, Any] | None
    #: records with model names as shown on the page
    records: list[Record]
    #: model as shown -> model in the run
    original: dict[str, str] = field(default_factory=dict)
    environment: str = ""

    def manifest(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for e in (self.run_info or {}).get("manifest") or []:
            if isinstance(e, dict) and "id" in e:
                out[str(e["id"])] = e
        return out


@dataclass
class Page:
    """Everything :func:`render_page` shows."""

    title: str
    summary: pd.DataFrame
    directions: Mapping[str, str]
    units: Mapping[str, str]
    groups: Sequence[Group]
    runs: list[RunPart]
    #: (run label, THEval result or None, error or None)
    theval: list[tuple[str, THEvalResult | None, str | None]] = field(default_factory=list)
    radar_png: bytes | None = None
    radar_what: str = ""
    warnings: list[str] = field(default_factory=list)
    gt_of: dict[str, str] = field(default_factory=dict)
    #: study results: (dimension, model as shown -> human win rate), or None
    study: tuple[str, dict[str, float]] | None = None
    #: at most this many clips get a frame strip (the rest say so)
    max_strips: int = 500

    @property
    def run_metrics(self) -> dict[str, dict[str, Any]]:
        """The runs' ``run.json`` ``metrics`` entries (current names), for the metrics' fields."""
        from .metadata import canonical_run_metrics

        out: dict[str, dict[str, Any]] = {}
        for run in self.runs:
            out.update(canonical_run_metrics((run.run_info or {}).get("metrics")))
        return out


def sorted_records(records: Iterable[Record]) -> list[Record]:
    """Records in a fixed order (model, clip, metric, region), so a page does not depend on the
    order of ``records.jsonl``."""
    return sorted(records, key=lambda r: (r.model, r.sample_id, r.metric, r.region))


# --------------------------------------------------------------------------- sections


def _leaderboards(page: Page, out: list[str]) -> None:
    models, rows = leaderboard_rows(page.summary, directions=page.directions, units=page.units,
                                    groups=page.groups, gt_of=page.gt_of)
    out.append("<h2 id='leaderboard'>Leaderboard</h2>")
    if not rows:
        out.append("<p>No records.</p>")
        return
    conf = float(page.summary["confidence"].iloc[0])
    boots = page.summary.loc[page.summary["level"] == "sample", "n_boot"]
    out.append(f"<p class='note'>Metrics as rows, models as columns. Cells: mean over clips "
               f"[{conf:.0%} percentile-bootstrap CI of the mean, {int(boots.max()) if len(boots) else 0} resamples] "
               "n = clips with a value; <b>green</b> = best of the row (GT columns never win; ≈GT: closest to the "
               "GT clips' mean). ↑ higher is better · ↓ lower is better · ≈GT closer to GT is better · ? unknown. "
               "Click a header to sort.</p>")
    by_section: dict[str, list[BoardRow]] = {}
    for r in rows:
        by_section.setdefault(r.section, []).append(r)
    for section, srows in by_section.items():
        out.append(f"<h3 id='{section_anchor(section)}'>{_e(section)}</h3>")
        out.append("<table class='sortable leaderboard'><thead><tr><th>metric</th>"
                   + "".join(f"<th>{_e(m)}{' (GT)' if m == 'gt' else ''}</th>" for m in models)
                   + "</tr></thead><tbody>")
        for r in srows:
            unit = f" <span class='unit'>{_e(r.units)}</span>" if r.units else ""
            out.append(f"<tr><th data-v='{_e(r.label)}'>{_e(r.label)} {ARROWS.get(r.direction, '?')}{unit}</th>")
            for m in models:
                s = r.cells.get(m)
                if s is None:
                    out.append("<td class='none' data-v=''>—</td>")
                    continue
                why = []
                for status, col in (("skipped", "skip_reasons"), ("error", "error_reasons")):
                    for reason, count in json.loads(str(s[col] or "{}")).items():
                        why.append(f"{count} {status} ({reason})")
                note = f"<br><small>{_e('; '.join(why))}</small>" if why else ""
                cls = " class='best'" if m in r.best else ""
                out.append(f"<td{cls} data-v='{_dv(s['mean'])}'>{_e(cell_text(s))}{note}</td>")
            out.append("</tr>")
        out.append("</tbody></table>")


def _theval(page: Page, out: list[str]) -> None:
    if not page.theval and page.radar_png is None:
        return
    out.append("<h2 id='theval'>THEval scores</h2>")
    from ..protocols.theval_score import DIMENSIONS, SLOTS

    for label, res, err in page.theval:
        head = f" — {_e(label)}" if len(page.theval) > 1 else ""
        if res is None:
            out.append(f"<h3>Not computed{head}</h3><pre>{_e(err or '')}</pre>")
            continue
        out.append(f"<p class='note'>{_e(res.variant)} variant{head}, head motion {_e(res.head_motion)}, GT: "
                   f"{_e(res.gt_source)}; per metric s = 1 − |m − m_GT| / |m_GT|; final = mean of the metric scores "
                   f"(missing metrics: '{_e(res.missing_rule)}' rule).</p>")
        t = res.table.to_dict("records")
        models = [str(r["model"]) for r in t]
        out.append("<table class='sortable theval'><thead><tr><th>score</th>"
                   + "".join(f"<th>{_e(m)}</th>" for m in models) + "</tr></thead><tbody>")
        finals = [float(r["final"]) for r in t]
        best = max((v for v in finals if math.isfinite(v)), default=math.nan)
        for key, name in [("final", "final"), *[(d, d) for d in DIMENSIONS]]:
            out.append(f"<tr><th data-v='{name}'>{_e(name)}</th>")
            for r in t:
                v = float(r[key])
                cls = " class='best'" if key == "final" and math.isfinite(v) and v == best and len(t) > 1 else ""
                out.append(f"<td{cls} data-v='{_dv(v)}'>{_num(v)}</td>")
            out.append("</tr>")
        for s in SLOTS:
            out.append(f"<tr><th data-v='{s.key}'>{_e(s.label)} <small>({_e(res.slots.get(s.key, ''))})</small></th>")
            for r in t:
                v = r.get(f"score.{s.key}")
                out.append(f"<td data-v='{_dv(v)}'>{_num(v)}</td>")
            out.append("</tr>")
        out.append("<tr><th data-v='averaged'>averaged</th>" + "".join(
            f"<td data-v='{int(r['n_used'])}'>{int(r['n_used'])}/{len(SLOTS)}</td>" for r in t) + "</tr>")
        out.append("<tr><th data-v='missing'>missing (why)</th>")
        for m in models:
            miss = res.missing(m)
            txt = "; ".join(f"{k}: {v}" for k, v in miss.items()) or "—"
            out.append(f"<td data-v='{len(miss)}'><small>{_e(txt)}</small></td>")
        out.append("</tr></tbody></table>")
        for n in res.notes:
            out.append(f"<p class='note'>{_e(n)}</p>")
    if page.radar_png is not None:
        out.append(f"<h3>Radar ({_e(page.radar_what)})</h3>")
        out.append(_img(page.radar_png, "radar chart"))


def _clip_values(page: Page) -> dict[tuple[str, str, str], dict[str, list[tuple[str, float]]]]:
    """(metric, region, level) -> model -> [(clip, value)] of the ok per-clip records."""
    out: dict[tuple[str, str, str], dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for run in page.runs:
        for r in run.records:
            if r.status == "ok" and r.value is not None and r.sample_id != DATASET:
                out[(r.metric, r.region, "sample")][r.model].append((r.sample_id, float(r.value)))
    return out


def _plots(page: Page, out: list[str], values: Mapping[tuple[str, str, str], Mapping[str, list[tuple[str, float]]]]
           ) -> None:
    from ..protocols.jwbdh import REGION_LABEL, REGION_ORDER, table_cell
    from .plots import region_bars_png, scatter_png

    models, rows = leaderboard_rows(page.summary, directions=page.directions, units=page.units,
                                    groups=page.groups, gt_of=page.gt_of)
    if not rows:
        return
    out.append("<h2 id='plots'>Plots</h2>")
    # JWB-DH per-region bars: one panel per (metric, variant), regions on the x axis
    panels: dict[tuple[str, str], dict[str, BoardRow]] = {}
    labels: dict[tuple[str, str], str] = {}
    for r in rows:
        p = table_cell(r.metric, page.run_metrics)
        if p is not None and r.level == "sample":
            panels.setdefault((p.metric, p.variant), {})[p.region] = r
            labels[(p.metric, p.variant)] = p.label
    if panels:
        spec = []
        for (key, variant), by_region in sorted(panels.items()):
            regions = sorted(by_region, key=lambda g: REGION_ORDER.index(g) if g in REGION_ORDER else 99)
            vals = {m: [(float(by_region[g].cells[m]["mean"]), float(by_region[g].cells[m]["ci_lo"]),  # type: ignore[arg-type]
                         float(by_region[g].cells[m]["ci_hi"])) if m in by_region[g].cells else  # type: ignore[arg-type]
                        (math.nan, math.nan, math.nan) for g in regions] for m in models}
            label = labels[(key, variant)] + ("" if variant == "default" else f" ({variant})")
            spec.append((label, [REGION_LABEL.get(g, g) for g in regions], vals))
        png = region_bars_png(spec, models)
        if png is not None:
            out.append("<h3 id='region-bars'>JWB-DH per region</h3><p class='note'>Mean per model and region, "
                       "error bars = the CI of the leaderboard.</p>" + _img(png, "JWB-DH per-region bars"))
    # per-clip distributions, one SVG per leaderboard section (every clip a linked dot)
    from .svg import strip_svg

    by_section: dict[str, list[BoardRow]] = {}
    for r in rows:
        if r.level == "sample":
            by_section.setdefault(r.section, []).append(r)
    figs = []
    for section, srows in by_section.items():
        spec2 = [(f"{r.label} {ARROWS.get(r.direction, '?')}" + (f" ({r.units})" if r.units else ""),
                  {m: values.get((r.metric, r.region, r.level), {}).get(m, []) for m in models}) for r in srows]
        svg = strip_svg(spec2, models, link=lambda m, c: f"#clip-{anchor(m, c)}")
        if svg is not None:
            figs.append((section, svg))
    if figs:
        out.append("<h3 id='distributions'>Per-clip distributions</h3><p class='note'>Every clip is a dot (hover: "
                   "clip and value; click: its drill-down); boxes: quartiles and median, whiskers to the furthest "
                   "clip within 1.5 IQR. Outlying clips are also listed per model below.</p>")
        for section, svg in figs:
            out.append(f"<h4 id='dist-{section_anchor(section)}'>{_e(section)}</h4>"
                       f"<div role='img' aria-label='per-clip values, {_e(section)}'>{svg}</div>")
    # metric vs human preference
    if page.study is not None:
        dim, rates = page.study
        shown = []
        for r in rows:
            pts = [(m, float(r.cells[m]["mean"]), rates[m]) for m in models  # type: ignore[arg-type]
                   if m in r.cells and m in rates]
            png = scatter_png(pts, xlabel=f"{r.label} {ARROWS.get(r.direction, '?')}", ylabel=f"human win rate ({dim})")
            if png is not None:
                shown.append(_img(png, f"{r.label} vs human preference"))
        if shown:
            out.append(f"<h3 id='human'>Metric vs human preference ({_e(dim)})</h3><p class='note'>One point per "
                       "model: the metric's mean against the study's win rate.</p>" + "".join(shown))


def _reason_groups(page: Page, status: str) -> dict[str, list[Record]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for run in page.runs:
        for r in run.records:
            if r.status == status:
                groups[error_reason(r)].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def _clip_link(model: str, sample: str) -> str:
    if sample == DATASET:
        return f"{_e(model)} · (dataset)"
    return f"<a href='#clip-{anchor(model, sample)}'>{_e(model)} · {_e(sample)}</a>"


def _missing_and_errors(page: Page, out: list[str]) -> None:
    for status, title, sid, intro in (
        ("skipped", "Why missing", "missing", ("Records without a number on purpose, grouped by reason "
                                              "(weights not on this machine, metric undefined on the clip, no GT ...).")),
        ("error", "Errors", "errors", ("Records that failed, grouped by cause (the text before the first colon "
                                       "of the message when the record names no reason).")),
    ):
        groups = _reason_groups(page, status)
        out.append(f"<h2 id='{sid}'>{title}</h2>")
        if not groups:
            out.append(f"<p>No {status} records.</p>")
            continue
        out.append(f"<p class='note'>{intro}</p>")
        out.append(f"<table class='sortable {sid}'><thead><tr><th>reason</th><th>records</th><th>metrics</th>"
                   "<th>models</th><th>message (first)</th></tr></thead><tbody>")
        for reason, recs in groups.items():
            metrics = Counter(r.metric for r in recs)
            models = Counter(r.model for r in recs)
            msg = next((r.message for r in recs if r.message), "") or ""
            out.append(f"<tr><th data-v='{_e(reason)}'>{_e(reason)}</th><td data-v='{len(recs)}'>{len(recs)}</td>"
                       f"<td><small>{_e(', '.join(f'{k} ({v})' for k, v in sorted(metrics.items())))}</small></td>"
                       f"<td><small>{_e(', '.join(f'{k} ({v})' for k, v in sorted(models.items())))}</small></td>"
                       f"<td><small>{_e(msg[:400])}</small></td></tr>")
        out.append("</tbody></table>")
        for reason, recs in groups.items():
            shown = recs[:200]
            items = "".join(f"<li>{_clip_link(r.model, r.sample_id)} — {_e(r.metric)}"
                            f"{'' if r.region in ('full', '') else ' @' + _e(r.region)}: {_e((r.message or '')[:300])}</li>"
                            for r in shown)
            more = f"<li>… and {len(recs) - len(shown)} more</li>" if len(recs) > len(shown) else ""
            out.append(f"<details><summary>{_e(reason)}: {len(recs)} record(s)</summary><ul>{items}{more}</ul></details>")


def _flags_text(fl: Mapping[str, Any]) -> str:
    return ", ".join(k if v is True else f"{k} ({', '.join(f'{a}={b}' for a, b in v.items())})"
                     if isinstance(v, dict) else f"{k}={v}" for k, v in fl.items())


def _clip_flags(page: Page) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for run in page.runs:
        for r in run.records:
            fl = (r.details or {}).get("flags") if isinstance(r.details, dict) else None
            if fl:
                out[(r.model, r.sample_id)] = fl
    return dict(sorted(out.items()))


def _flagged(page: Page, out: list[str], flags: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
    out.append("<h2 id='flagged'>Flagged clips</h2>")
    if not flags:
        out.append("<p>No clip flagged as degenerate input.</p>")
        return
    out.append("<p class='note'>Degenerate input (frozen video, still mouth, no face, muted or short audio ...): "
               "said next to the numbers, not scored differently; metrics undefined on such input are skipped "
               "with the reason.</p>")
    out.append("<table class='sortable flagged'><thead><tr><th>model</th><th>clip</th><th>flags</th></tr></thead><tbody>")
    for (m, c), fl in flags.items():
        out.append(f"<tr><td data-v='{_e(m)}'>{_e(m)}</td><td data-v='{_e(c)}'>{_clip_link(m, c)}</td>"
                   f"<td>{_e(_flags_text(fl))}</td></tr>")
    out.append("</tbody></table>")


def _outliers(values: Mapping[tuple[str, str, str], Mapping[str, list[tuple[str, float]]]], model: str,
              rows: Sequence[BoardRow]) -> list[str]:
    """Lines 'metric: clip (value)' for the clips of ``model`` beyond 1.5 IQR of its values."""
    out = []
    for r in rows:
        v = values.get((r.metric, r.region, r.level), {}).get(model, [])
        if len(v) < 4:
            continue
        x = np.array([a for _, a in v])
        q1, q3 = np.percentile(x, [25, 75])
        lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        odd = sorted(((c, a) for c, a in v if a < lo or a > hi), key=lambda t: -abs(t[1] - float(np.median(x))))
        if odd:
            out.append(f"{_e(r.label)}: " + ", ".join(
                f"<a href='#clip-{anchor(model, c)}'>{_e(c)}</a> ({_num(a)})" for c, a in odd[:10])
                + (f" … {len(odd) - 10} more" if len(odd) > 10 else ""))
    return out


def _drilldown(page: Page, out: list[str], out_dir: Path | None, cache: StripCache | None,
               values: Mapping[tuple[str, str, str], Mapping[str, list[tuple[str, float]]]],
               flags: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
    from .frames import clip_boxes

    models, rows = leaderboard_rows(page.summary, directions=page.directions, units=page.units,
                                    groups=page.groups, gt_of=page.gt_of)
    by_clip: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    run_of: dict[str, RunPart] = {}
    for run in page.runs:
        for r in run.records:
            if r.sample_id != DATASET:
                by_clip[r.model][r.sample_id].append(r)
            run_of.setdefault(r.model, run)
    out.append("<h2 id='models'>Per model</h2>")
    order = [m for m in models if m in by_clip] + sorted(m for m in by_clip if m not in models)
    out.append("<p>" + " · ".join(f"<a href='#model-{anchor(m)}'>{_e(m)}</a>" for m in order) + "</p>")
    n_strips = 0
    for m in order:
        clips = by_clip[m]
        out.append(f"<h3 id='model-{anchor(m)}'>{_e(m)}</h3>")
        odd = _outliers(values, m, rows)
        if odd:
            out.append("<p class='note'>Outlying clips (beyond 1.5 IQR of this model's values):</p><ul>"
                       + "".join(f"<li>{x}</li>" for x in odd) + "</ul>")
        out.append("<table class='sortable clips'><thead><tr><th>clip</th><th>ok</th><th>skipped</th><th>error</th>"
                   "<th>flags</th></tr></thead><tbody>")
        for c in sorted(clips):
            st = Counter(r.status for r in clips[c])
            fl = flags.get((m, c))
            out.append(f"<tr><td data-v='{_e(c)}'><a href='#clip-{anchor(m, c)}'>{_e(c)}</a></td>"
                       + "".join(f"<td data-v='{st.get(s, 0)}'>{st.get(s, 0)}</td>" for s in ("ok", "skipped", "error"))
                       + f"<td>{_e(_flags_text(fl)) if fl else ''}</td></tr>")
        out.append("</tbody></table>")

    out.append("<h2 id='clips'>Per clip</h2>")
    for m in order:
        run = run_of[m]
        manifest = run.manifest()
        orig = run.original.get(m, m)
        for c in sorted(by_clip[m]):
            recs = sorted(by_clip[m][c], key=lambda r: (r.metric, r.region))
            entry = manifest.get(c, {})
            video = entry.get("gt") if orig == "gt" else (entry.get("models") or {}).get(orig)
            out.append(f"<div class='clip' id='clip-{anchor(m, c)}'><h4>{_e(m)} · {_e(c)}</h4>")
            fl = flags.get((m, c))
            if fl:
                out.append(f"<p><span class='flag'>flagged</span> {_e(_flags_text(fl))}</p>")
            if video:
                vp = Path(str(video))
                if cache is not None and n_strips < page.max_strips:
                    boxes, src = clip_boxes(run.run_dir, orig, c, entry)
                    strip = cache.strip(vp, boxes=boxes)
                    if strip is not None:
                        n_strips += 1
                        out.append(_img(strip, f"frames of {m} · {c}", cls="strip", mime="image/jpeg"))
                        if src:
                            out.append(f"<small>region boxes from {_e(src)}</small><br>")
                    else:
                        out.append(f"<small>no frame strip: {_e(vp.name)} is not readable here</small><br>")
                elif cache is not None:
                    out.append(f"<small>no frame strip: the report draws at most {page.max_strips}</small><br>")
                href = os.path.relpath(vp, out_dir) if out_dir is not None and vp.is_absolute() else str(vp)
                src = _e(Path(href).as_posix())
                out.append(f"<small>video: <a href='{src}'>{_e(vp.name)}</a></small><br>"
                           f"<video class='preview' controls preload='none' width='256' src='{src}'></video>")
            out.append("<table class='sortable values'><thead><tr><th>metric</th><th>status</th><th>value</th>"
                       "<th>reason / message</th></tr></thead><tbody>")
            for r in recs:
                name = r.metric + ("" if r.region in ("full", "") else f" @{r.region}")
                msg = " — ".join(x for x in (r.reason or "", (r.message or "")[:400]) if x)
                out.append(f"<tr><td data-v='{_e(name)}'>{_e(name)}</td><td class='status-{_e(r.status)}' "
                           f"data-v='{_e(r.status)}'>{_e(r.status)}</td><td data-v='{_dv(r.value)}'>"
                           f"{_num(r.value, 6) if r.value is not None else ''}</td><td><small>{_e(msg)}</small></td></tr>")
            out.append("</tbody></table></div>")


def _run_info(page: Page, out: list[str]) -> None:
    out.append("<h2 id='run'>Run</h2>")
    for run in page.runs:
        info = run.run_info or {}
        if len(page.runs) > 1:
            out.append(f"<h3>{_e(run.label)}</h3>")
        if not info:
            out.append(f"<p>{_e(run.run_dir.name)} has no run.json: directions and units come from the installed "
                       "metrics.</p>")
            continue
        plain = {k: info.get(k) for k in ("avatar_eval_version", "created", "updated", "manifest_hash", "models",
                                          "has_gt", "face_mesh_still_threshold") if k in info}
        out.append("<table><tbody>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in plain.items())
                   + "</tbody></table>")
        for key, title in (("config", "Config"), ("weights", "Weights (sha256)"), ("vad", "VAD"),
                           ("libraries", "Library versions")):
            if info.get(key):
                out.append(f"<details><summary>{title}</summary><pre>"
                           f"{_e(json.dumps(info[key], indent=1, sort_keys=True, default=str))}</pre></details>")
        if run.environment:
            out.append(f"<details><summary>Environment</summary><pre>{_e(run.environment)}</pre></details>")
        _timing(info.get("last_run"), out)
        metrics = info.get("metrics") or {}
        if metrics:
            out.append("<details><summary>Metrics (as recorded at run time)</summary><table><thead><tr><th>metric</th>"
                       "<th>version</th><th>direction</th><th>units</th><th>description</th></tr></thead><tbody>")
            for n, mi in sorted(metrics.items()):
                if not isinstance(mi, dict):
                    continue
                hib = mi.get("higher_is_better")
                d = "↑" if hib is True else "↓" if hib is False else "≈GT" if hib is None else "?"
                out.append(f"<tr><td>{_e(n)}</td><td>{_e(mi.get('version', ''))}</td><td>{d}</td>"
                           f"<td>{_e(mi.get('units') or '')}</td><td><small>{_e(mi.get('description') or '')}</small>"
                           "</td></tr>")
            out.append("</tbody></table></details>")


def _timing(last: Any, out: list[str]) -> None:
    """Where the last invocation's time went: headline, stages (seconds, share, frames/s), the
    main process and worker start-up (``run.json["last_run"]``, :mod:`.timing`)."""
    from .timing import headline, run_timing

    rt = run_timing(last)
    if rt is None or not rt.stages:
        return
    out.append(f"<details><summary>Where the time went: {_e(headline(rt))}</summary><table><thead><tr><th>stage</th>"
               "<th>seconds</th><th>share of the jobs' time</th><th>frames/s</th></tr></thead><tbody>")
    for s in rt.stages:
        fps = f"{s.frames_per_s:.1f}" if s.frames_per_s else ""
        out.append(f"<tr><td>{_e(s.name)}</td><td>{s.seconds:.3f}</td><td>{s.share:.1%}</td><td>{fps}</td></tr>")
    out.append("</tbody></table>")
    if rt.notes():
        out.append("<p class='note'>" + "<br>".join(_e(x) for x in rt.notes()) + "</p>")
    out.append("</details>")


# --------------------------------------------------------------------------- the page


def render_page(page: Page, *, out_dir: str | os.PathLike[str] | None = None,
                cache: StripCache | None = None) -> str:
    """The HTML of ``page``. ``out_dir``: where the file will live (video links are relative to
    it); ``cache``: frame strips (None: no strips)."""
    od = Path(out_dir).resolve() if out_dir is not None else None
    values = _clip_values(page)
    flags = _clip_flags(page)
    n_rec = sum(len(r.records) for r in page.runs)
    out = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{_e(page.title)}</title>", f"<style>{_CSS}</style>", "</head><body>"]
    out.append("<nav><a href='#leaderboard'>Leaderboard</a><a href='#theval'>THEval</a><a href='#plots'>Plots</a>"
               "<a href='#missing'>Why missing</a><a href='#errors'>Errors</a><a href='#flagged'>Flagged</a>"
               "<a href='#models'>Models</a><a href='#clips'>Clips</a><a href='#run'>Run</a></nav>")
    out.append(f"<h1>{_e(page.title)}</h1>")
    models = sorted({r.model for run in page.runs for r in run.records})
    out.append(f"<p class='note'>{n_rec} records · {len(models)} models · "
               f"{len({r.sample_id for run in page.runs for r in run.records if r.sample_id != DATASET})} clips · "
               "made by avatar-eval from records.jsonl and run.json (no metric computed)</p>")
    if page.groups:
        out.append("<p>" + " · ".join(f"<a href='#{section_anchor(t)}'>{_e(t)}</a>" for t, _ in page.groups) + "</p>")
    _leaderboards(page, out)
    _theval(page, out)
    _plots(page, out, values)
    _missing_and_errors(page, out)
    _flagged(page, out, flags)
    _drilldown(page, out, od, cache, values, flags)
    _run_info(page, out)
    if page.warnings:
        out.append("<h2 id='warnings'>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in page.warnings) + "</ul>")
    out.append(f"<script>{_JS}</script>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def report_html(
    result: ReportResult,
    *,
    environment: str = "",
    directions: Mapping[str, str],
    units: Mapping[str, str],
    radar_png: bytes | None = None,
    records: Iterable[Record] = (),
    run_info: dict[str, Any] | None = None,
    groups: Sequence[Group] = (),
    cache: StripCache | None = None,
    study: tuple[str, dict[str, float]] | None = None,
    max_strips: int = 500,
) -> str:
    """The page of one report build (``RUN_DIR/report.html``)."""
    run = RunPart(result.run_dir.name, result.run_dir, run_info, sorted_records(records), environment=environment)
    page = Page(title=f"avatar-eval report: {result.run_dir.name}", summary=result.summary, directions=directions,
                units=units, groups=groups, runs=[run],
                theval=([(run.label, result.theval, result.theval_error)]
                        if (result.theval is not None or result.theval_error) else []),
                radar_png=radar_png, radar_what=result.radar, warnings=list(result.warnings), study=study,
                max_strips=max_strips)
    return render_page(page, out_dir=result.run_dir, cache=cache)
