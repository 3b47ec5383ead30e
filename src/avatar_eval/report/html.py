"""``report.html``: one self-contained page (leaderboard, THEval scores, radar chart, notes).

Written by :func:`~avatar_eval.report.build.build_reports` when ``html`` is among the formats
(``avatar-eval report RUN_DIR --format html``). The same numbers as the Markdown files: cells
come from :func:`~avatar_eval.results.export.cell_text` on the same summary; the radar chart is
the PNG of ``radar.png``, embedded.
"""

from __future__ import annotations

import base64
import html
import json
import math
from typing import TYPE_CHECKING, Mapping

from ..results.aggregate import model_order
from ..results.export import ARROWS, cell_text, column_label

if TYPE_CHECKING:  # pragma: no cover
    from .build import ReportResult

__all__ = ["report_html"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.note { color: #555; font-size: 0.9em; }
pre { background: #f8f8f8; padding: 0.8em; white-space: pre-wrap; }
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _num(x: object) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _e(x)
    return "—" if math.isnan(v) else f"{v:.4f}"


def report_html(
    result: "ReportResult",
    *,
    environment: str = "",
    directions: Mapping[str, str],
    units: Mapping[str, str],
    radar_png: bytes | None = None,
) -> str:
    """The page of one report build."""
    s = result.summary
    out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
           f"<title>avatar-eval report: {_e(result.run_dir.name)}</title>", f"<style>{_CSS}</style>",
           "</head><body>", f"<h1>Run {_e(result.run_dir.name)}</h1>"]

    out.append("<h2>Leaderboard</h2>")
    if s.empty:
        out.append("<p>No records.</p>")
    else:
        cols = list(s[["metric", "region", "level"]].drop_duplicates()
                    .sort_values(["metric", "region", "level"], kind="stable").itertuples(index=False, name=None))
        by_key = {(r["model"], r["metric"], r["region"], r["level"]): r for r in s.to_dict("records")}
        out.append("<table><tr><th>model</th>")
        for m, reg, lev in cols:
            u = units.get(m) or ""
            head = f"{column_label(m, reg, lev)} {ARROWS.get(directions.get(m, 'unknown'), '?')}"
            out.append(f"<th>{_e(head)}" + (f"<br><span class='note'>{_e(u)}</span>" if u else "") + "</th>")
        out.append("</tr>")
        for model in model_order(s["model"]):
            out.append(f"<tr><th>{_e(model)}{' (GT)' if model == 'gt' else ''}</th>")
            for m, reg, lev in cols:
                row = by_key.get((model, m, reg, lev))
                if row is None:
                    out.append("<td>—</td>")
                    continue
                why = []
                for status, col in (("skipped", "skip_reasons"), ("error", "error_reasons")):
                    for reason, count in json.loads(str(row[col]) or "{}").items():
                        why.append(f"{count} {status} ({reason})")
                note = f"<br><span class='note'>{_e('; '.join(why))}</span>" if why else ""
                out.append(f"<td>{_e(cell_text(row))}{note}</td>")
            out.append("</tr>")
        out.append("</table>")
        out.append("<p class='note'>↑ higher is better · ↓ lower is better · ≈GT closer to the GT clips' value "
                   "is better · ? unknown. Cells: mean [bootstrap CI of the mean] n = clips with a value.</p>")

    if result.theval is not None:
        r = result.theval
        out.append(f"<h2>THEval scores ({_e(r.variant)} variant, head motion {_e(r.head_motion)})</h2>")
        out.append(f"<p class='note'>GT: {_e(r.gt_source)}</p>")
        cols = ["model", "final", "quality", "naturalness", "synchronization"]
        out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>")
        for row in r.table.to_dict("records"):
            out.append("<tr><th>" + _e(row["model"]) + "</th>"
                       + "".join(f"<td>{_num(row.get(c))}</td>" for c in cols[1:]) + "</tr>")
        out.append("</table>")
    elif result.theval_error:
        out.append("<h2>THEval scores</h2>")
        out.append(f"<p>Not computed:</p><pre>{_e(result.theval_error)}</pre>")

    if radar_png is not None:
        b64 = base64.b64encode(radar_png).decode("ascii")
        out.append(f"<h2>Radar ({_e(result.radar)})</h2>")
        out.append(f"<img alt='radar chart' src='data:image/png;base64,{b64}'>")

    if environment:
        out.append(f"<h2>Environment</h2><pre>{_e(environment)}</pre>")
    if result.warnings:
        out.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in result.warnings) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
