"""``avatar-eval site RUN... --out SITE``: a static multi-run leaderboard (no server needed).

``SITE/index.html`` holds one table per protocol (THEval, JWB-DH, every other metric family) with
**one row per model of every run** that computed metrics of that protocol: the run (a link to its
report), the THEval final score where there is one, then the mean of each metric (the CI and n in
the cell's tooltip); click a header to sort. ``SITE/runs/<run>/report.html`` is each run's report
(:mod:`avatar_eval.report.html`), ``SITE/leaderboard.csv`` the index as a table. Pages are plain
files with inline CSS and script: open ``SITE/index.html`` from disk or publish the folder
(GitHub Pages). Nothing is computed but aggregates and scores.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..results.export import ARROWS, cell_text, is_gt_model, write_table
from ..results.store import atomic_write_text
from .compare import LoadedRun, load_run, run_labels
from .layout import protocol_groups
from .metadata import run_metrics_info

__all__ = ["build_site"]


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _run_page(run: LoadedRun, out: Path, strips: bool, max_strips: int) -> Path:
    """``out/report.html`` of one run, its strips cached in the run directory."""
    from .build import _environment_note
    from .frames import StripCache
    from .html import Page, RunPart, render_page, sorted_records

    cache = StripCache(run.run_dir) if strips else None
    page = Page(title=f"avatar-eval report: {run.label}", summary=run.summary, directions=run.directions,
                units=run.units, groups=protocol_groups(run.summary, run_metrics_info(run.run_dir)),
                runs=[RunPart(run.label, run.run_dir, run.run_info, sorted_records(run.records),
                              environment=_environment_note(run.run_dir))],
                theval=[(run.label, run.theval, run.theval_error)] if (run.theval is not None or run.theval_error)
                else [], warnings=list(run.warnings), max_strips=max_strips)
    out.mkdir(parents=True, exist_ok=True)
    p = out / "report.html"
    atomic_write_text(p, render_page(page, out_dir=out, cache=cache))
    if cache is not None:
        cache.flush()
    return p


def build_site(run_dirs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *,
               strips: bool = True, max_strips: int = 500) -> dict[str, Path]:
    """Write the site; returns its files (index.html, leaderboard.csv, runs/<run>/report.html)."""
    from .html import _CSS, _JS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = run_labels(run_dirs)
    runs = [load_run(d, lab) for d, lab in zip(run_dirs, labels)]
    files: dict[str, Path] = {}
    slug = {r.label: "".join(c if c.isalnum() or c in "-_." else "_" for c in r.label) for r in runs}
    for r in runs:
        p = _run_page(r, out / "runs" / slug[r.label], strips, max_strips)
        files[str(p.relative_to(out))] = p

    # one table per protocol section family: rows = (run, model), columns = metrics
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in runs:
        for title, items in protocol_groups(r.summary):
            fam = title.split(" · ")[0]
            have = sections.setdefault(fam, [])
            for it in items:
                if it not in have:
                    have.append(it)
    rows_csv = []
    body = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            "<title>avatar-eval leaderboard</title>", f"<style>{_CSS}\n.wide {{ overflow-x: auto; }}</style>",
            "</head><body>", "<h1>avatar-eval leaderboard</h1>",
            f"<p class='note'>{len(runs)} runs: " + ", ".join(
                f"<a href='runs/{_e(slug[r.label])}/report.html'>{_e(r.label)}</a>" for r in runs)
            + ". One row per model of each run; cells: mean over clips (hover: CI and n). Click a header to sort; "
            "each run's report has the CIs, plots and clips.</p>"]
    for fam, items in sections.items():
        cols = [it for it in items]
        theval = fam == "THEval"
        body.append(f"<h2>{_e(fam)}</h2><div class='wide'><table class='sortable site'><thead><tr><th>model</th>"
                    "<th>run</th>" + ("<th>THEval final</th>" if theval else "")
                    + "".join(f"<th>{_e(lab)} {ARROWS.get(_direction(runs, m), '?')}</th>" for m, _, _, lab in cols)
                    + "</tr></thead><tbody>")
        for r in runs:
            if r.summary.empty:
                continue
            keys = {(m, g, lev) for m, g, lev, _ in cols}
            mine = r.summary[[k in keys for k in zip(r.summary["metric"], r.summary["region"], r.summary["level"])]]
            if mine.empty:
                continue
            by = {(x["model"], x["metric"], x["region"], x["level"]): x for x in mine.to_dict("records")}
            finals = r.theval.final_scores() if (theval and r.theval is not None) else {}
            for model in sorted(set(mine["model"]), key=lambda m: (not is_gt_model(m), m)):
                link = f"runs/{slug[r.label]}/report.html"
                row = [f"<tr><td data-v='{_e(model)}'>{_e(model)}{' (GT)' if is_gt_model(model) else ''}</td>",
                       f"<td data-v='{_e(r.label)}'><a href='{_e(link)}'>{_e(r.label)}</a></td>"]
                rec: dict[str, object] = {"section": fam, "run": r.label, "model": model}
                if theval:
                    f = finals.get(model, math.nan)
                    row.append(f"<td data-v='{'' if not math.isfinite(f) else repr(float(f))}'>"
                               f"{'—' if not math.isfinite(f) else f'{f:.4f}'}</td>")
                    rec["theval_final"] = f
                for m, g, lev, lab in cols:
                    s = by.get((model, m, g, lev))
                    v = float(s["mean"]) if s is not None else math.nan
                    rec[lab] = v
                    if s is None or not math.isfinite(v):
                        row.append("<td class='none' data-v=''>—</td>")
                    else:
                        row.append(f"<td data-v='{v!r}' title='{_e(cell_text(s))}'>{v:.4g}</td>")
                body.append("".join(row) + "</tr>")
                rows_csv.append(rec)
        body.append("</tbody></table></div>")
    body.append(f"<script>{_JS}</script></body></html>")
    p = out / "index.html"
    atomic_write_text(p, "\n".join(body) + "\n")
    files["index.html"] = p
    for q in write_table(pd.DataFrame(rows_csv), out / "leaderboard.csv"):
        files[q.name] = q
    atomic_write_text(out / "site.json", json.dumps({"runs": {r.label: str(r.run_dir) for r in runs},
                                                     "files": sorted(files)}, indent=2, sort_keys=True) + "\n")
    return files


def _direction(runs: Sequence[LoadedRun], metric: str) -> str:
    for r in runs:
        if metric in r.directions:
            return r.directions[metric]
    return "unknown"
