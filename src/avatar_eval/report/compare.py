"""Reports of several runs: ``avatar-eval report RUN_A RUN_B --out DIR`` and ``avatar-eval site``.

:func:`load_run` reads one finished run (records + ``run.json`` + the settings of its last report)
and aggregates it **on its own** (the same summary, bootstrap CIs included, as the run's own
report); :func:`build_comparison` puts the models of several runs side by side: a model whose
name occurs in more than one run is shown as ``model (run)``, and so is every run's GT when
several runs have one (each model's ≈GT best-of-row is judged against its own run's GT). THEval
scores are those of each run, scored with that run's settings. Nothing is computed but
aggregates and scores.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..results.aggregate import aggregate
from ..results.bootstrap import DEFAULT_N_BOOT
from ..results.export import leaderboard_frame, leaderboard_markdown, write_table
from ..results.schema import GT_MODEL, Record
from ..results.store import atomic_write_text, read_records
from .metadata import canonical_records, canonical_run_metrics, metric_metadata, read_run_json

__all__ = ["LoadedRun", "build_comparison", "load_run", "run_labels"]


@dataclass
class LoadedRun:
    """One run, read and aggregated."""

    label: str
    run_dir: Path
    records: list[Record]
    run_info: dict[str, Any] | None
    summary: pd.DataFrame
    settings: dict[str, Any]
    directions: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    theval: Any = None
    theval_error: str | None = None


def _settings(run_dir: Path) -> dict[str, Any]:
    """The last report's settings (``report.json``), else the run's THEval variant / reference."""
    out: dict[str, Any] = {"theval_variant": "paper", "reference": None, "head_motion": "facexformer",
                           "theval_missing": "worst", "n_boot": DEFAULT_N_BOOT, "seed": 0, "confidence": 0.95,
                           "force_reference": False}
    info = read_run_json(run_dir) or {}
    cfg = info.get("config") or {}
    for k in ("theval_variant", "reference"):
        if isinstance(cfg, dict) and k in cfg:
            out[k] = cfg[k]
    try:
        last = json.loads((run_dir / "report.json").read_text("utf-8")).get("settings") or {}
    except (OSError, ValueError, AttributeError):
        last = {}
    out.update({k: v for k, v in last.items() if k in out})
    return out


def load_run(run_dir: str | os.PathLike[str], label: str | None = None) -> LoadedRun:
    """Read and aggregate one run (``FileNotFoundError`` without ``records.jsonl``)."""
    from ..protocols.theval_score import (
        THEvalScoreError,
        all_theval_metric_names,
        theval_score,
    )

    d = Path(run_dir)
    src = d / "records.jsonl"
    if not src.is_file():
        raise FileNotFoundError(f"{d} is not a run directory: it has no records.jsonl")
    records = list({r.key: r for r in canonical_records(read_records(src))}.values())
    st = _settings(d)
    summary = aggregate(records, n_boot=int(st["n_boot"]), seed=st["seed"], confidence=float(st["confidence"]))
    present = sorted(set(summary["metric"])) if not summary.empty else []
    meta, warnings = metric_metadata(d, present)
    run = LoadedRun(label or d.name, d, records, read_run_json(d), summary, st,
                    {n: m.direction for n, m in meta.items()}, {n: m.units for n, m in meta.items()}, warnings)
    if set(present) & all_theval_metric_names():
        try:
            run.theval = theval_score(summary, variant=st["theval_variant"], reference=st["reference"],
                                      head_motion=st["head_motion"], force_reference=bool(st["force_reference"]),
                                      missing=st["theval_missing"])
        except THEvalScoreError as e:
            run.theval_error = str(e)
    return run


def run_labels(run_dirs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Short unique names of runs: the folder name, with its parent when two folders share one."""
    paths = [Path(p).resolve() for p in run_dirs]
    names = [p.name for p in paths]
    out = []
    for p, n in zip(paths, names):
        out.append(f"{p.parent.name}/{n}" if names.count(n) > 1 else n)
    for i, n in enumerate(out):  # still equal (same parent names): number them
        if out.count(n) > 1:
            out[i] = f"{n}#{out[:i].count(n) + 1}"
    return out


def display_names(runs: Sequence[LoadedRun]) -> list[dict[str, str]]:
    """Per run, model -> name shown: ``model (run)`` when the name occurs in another run too."""
    seen: dict[str, int] = {}
    for r in runs:
        for m in set(r.summary["model"]) if not r.summary.empty else set():
            seen[m] = seen.get(m, 0) + 1
    return [{m: (f"{m} ({r.label})" if seen.get(m, 0) > 1 else m)
             for m in (set(r.summary["model"]) if not r.summary.empty else set()) | {x.model for x in r.records}}
            for r in runs]


def _renamed_theval(res: Any, names: dict[str, str]) -> Any:
    if res is None:
        return None
    table = res.table.assign(model=res.table["model"].map(lambda m: names.get(m, m)))
    long = res.long.assign(model=res.long["model"].map(lambda m: names.get(m, m)))
    return dataclasses.replace(res, table=table, long=long)


def build_comparison(
    run_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    formats: Iterable[str] = ("html", "md", "csv"),
    strips: bool = True,
    max_strips: int = 500,
) -> dict[str, Path]:
    """Write ``report.html``, ``leaderboard.md`` / ``.csv`` and ``compare.json`` comparing the
    runs' models side by side into ``out_dir``; returns the files written."""
    from .frames import StripCache
    from .html import Page, RunPart, render_page, sorted_records
    from .layout import protocol_groups

    labels = run_labels(run_dirs)
    runs = [load_run(d, lab) for d, lab in zip(run_dirs, labels)]
    names = display_names(runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts, frames, theval = [], [], []
    directions: dict[str, str] = {}
    units: dict[str, str] = {}
    warnings: list[str] = []
    gt_of: dict[str, str] = {}
    for run, nm in zip(runs, names):
        if not run.summary.empty:
            frames.append(run.summary.assign(model=run.summary["model"].map(lambda m, nm=nm: nm.get(m, m))))
        recs = [dataclasses.replace(r, model=nm.get(r.model, r.model)) for r in run.records]
        parts.append(RunPart(run.label, run.run_dir, run.run_info, sorted_records(recs),
                             original={v: k for k, v in nm.items()}))
        gt = nm.get(GT_MODEL, GT_MODEL)
        gt_of.update({v: gt for v in nm.values()})
        for n, d in run.directions.items():
            if n in directions and directions[n] != d:
                warnings.append(f"{n}: direction {directions[n]} in one run, {d} in {run.label}; shown as the first")
            directions.setdefault(n, d)
        for n, u in run.units.items():
            units.setdefault(n, u)
        warnings += [f"{run.label}: {w}" for w in run.warnings]
        if run.theval is not None or run.theval_error:
            theval.append((run.label, _renamed_theval(run.theval, nm), run.theval_error))
    summary = pd.concat(frames, ignore_index=True) if frames else runs[0].summary
    run_metrics: dict[str, dict] = {}
    for run in runs:
        run_metrics.update(canonical_run_metrics((run.run_info or {}).get("metrics")))
    groups = protocol_groups(summary, run_metrics)
    files: dict[str, Path] = {}
    fmts = set(formats)
    title = "avatar-eval comparison: " + " vs ".join(labels)
    if "md" in fmts:
        p = out / "leaderboard.md"
        atomic_write_text(p, leaderboard_markdown(summary, title=title, directions=directions, units=units,
                                                  groups=groups, gt_of=gt_of))
        files[p.name] = p
    if "csv" in fmts:
        for p in write_table(leaderboard_frame(summary, directions=directions, units=units, groups=groups,
                                               gt_of=gt_of), out / "leaderboard.csv"):
            files[p.name] = p
    if "html" in fmts:
        cache = StripCache(out) if strips else None
        page = Page(title=title, summary=summary, directions=directions, units=units, groups=groups, runs=parts,
                    theval=theval, warnings=warnings, gt_of=gt_of, max_strips=max_strips)
        p = out / "report.html"
        atomic_write_text(p, render_page(page, out_dir=out, cache=cache))
        if cache is not None:
            cache.flush()
        files[p.name] = p
    info = {"runs": [{"label": r.label, "run_dir": str(r.run_dir), "models": nm, "settings": r.settings}
                     for r, nm in zip(runs, names)], "files": sorted(files), "warnings": warnings}
    p = out / "compare.json"
    atomic_write_text(p, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    files[p.name] = p
    return files
