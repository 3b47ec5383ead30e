"""``avatar-eval report RUN_DIR``: re-render and re-score a finished run without computing metrics.

Reads ``records.jsonl`` and ``run.json`` only (never decodes a clip, never loads a metric's model)
and rewrites the report files with :func:`avatar_eval.report.build.build_reports`, the function
``avatar-eval run`` calls after a run. With the same settings the files come out identical to the
run's; ``--theval-variant`` / ``--reference`` re-score THEval, ``--format`` chooses the files.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

console = Console()

VARIANTS = ("paper", "compat", "auto")


def _error(msg: str) -> None:
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(msg)}", soft_wrap=True, highlight=False)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def report_settings(run_dir: Path) -> dict[str, Any]:
    """The settings a re-render starts from: those of the last report (``report.json``), else
    the run's (``run.json``: THEval variant and reference), else the defaults of ``run``."""
    out: dict[str, Any] = {"theval_variant": "paper", "reference": None}
    cfg = _load(run_dir / "run.json").get("config") or {}
    if isinstance(cfg, dict):
        for k in ("theval_variant", "reference"):
            if k in cfg:
                out[k] = cfg[k]
    last = _load(run_dir / "report.json").get("settings") or {}
    if isinstance(last, dict):
        for k in ("theval_variant", "reference", "head_motion", "force_reference", "theval_missing", "n_boot", "seed",
                  "confidence"):
            if k in last:
                out[k] = last[k]
    return out


def report(
    run_dirs: list[Path] = typer.Argument(..., help="A finished (or partial) run directory: records.jsonl + "
                                          "run.json; several (with --out) to compare them."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Compare the runs given into this folder (report.html, leaderboard.md/.csv, "
        "compare.json): their models side by side, 'model (run)' where names collide. Needed with several runs."),
    theval_variant: str | None = typer.Option(
        None, "--theval-variant", help="THEval metrics to score: paper, compat or auto "
        "(default: the last report's, else the run's)."),
    reference: str | None = typer.Option(
        None, "--reference", help="Stored GT reference set for the THEval final score (default: the last "
        "report's, else the run's; none: the run's GT clips)."),
    theval_missing: str | None = typer.Option(
        None, "--theval-missing", help="How a THEval metric some models miss enters their final score: worst "
        "(default; min(0, the worst score on it), flagged), common (only metrics all models have), zero, or drop "
        "(THEval's own rule: each model averages what it has, so missing a metric can raise a score)."),
    formats: str = typer.Option(
        "md,csv,parquet,png,html", "--format", "-f",
        help="Comma-separated: md, csv, parquet, png, html (report.json is always written)."),
) -> None:
    """Re-render and re-score a finished run from records.jsonl and run.json; computes no metric.

    Each metric's direction and units come from run.json (what the run computed with); a name it
    lacks falls back to the installed registry, with a warning in report.json. Several runs with
    --out: one report comparing them."""
    from rich.markup import escape

    from ..errors import AvatarEvalError
    from ..report.build import build_reports, parse_formats

    for run_dir in run_dirs:
        if not run_dir.is_dir():
            _error(f"no run directory {run_dir}")
            raise typer.Exit(2)
        if not (run_dir / "records.jsonl").is_file():
            _error(f"{run_dir} is not a run directory: it has no records.jsonl "
                   "(make one with: avatar-eval run --out DIR ...)")
            raise typer.Exit(2)
    if len(run_dirs) > 1 and out is None:
        _error("several run directories: say where the comparison goes with --out DIR")
        raise typer.Exit(2)
    if out is not None:
        if theval_variant is not None or reference is not None or theval_missing is not None:
            _error("--theval-variant / --reference / --theval-missing re-score one run in its directory; a "
                   "comparison (--out) scores each run with the settings of its last report: re-render the run "
                   "first (avatar-eval report RUN --theval-variant ...)")
            raise typer.Exit(2)
        _compare(run_dirs, out, formats)
        return
    run_dir = run_dirs[0]
    if theval_variant is not None and theval_variant not in VARIANTS:
        _error(f"--theval-variant must be one of {', '.join(VARIANTS)}, got {theval_variant!r}")
        raise typer.Exit(2)
    from ..protocols.theval_score import MISSING_RULES

    if theval_missing is not None and theval_missing not in MISSING_RULES:
        _error(f"--theval-missing must be one of {', '.join(MISSING_RULES)}, got {theval_missing!r}")
        raise typer.Exit(2)
    try:
        fmts = parse_formats(formats)
    except ValueError as e:
        _error(f"--format: {e}")
        raise typer.Exit(2) from None

    settings = report_settings(run_dir)
    if theval_variant is not None:
        settings["theval_variant"] = theval_variant
    if theval_missing is not None:
        settings["theval_missing"] = theval_missing
    if reference is not None:
        settings["reference"] = None if reference.lower() == "none" else reference
    if not (run_dir / "run.json").is_file():
        console.print(f"[yellow]note:[/yellow] {escape(str(run_dir))} has no run.json: directions and units come from the "
                      "installed metrics (report.json says so)", soft_wrap=True, highlight=False)
    t0 = time.perf_counter()
    try:
        res = build_reports(run_dir, formats=fmts, **settings)
    except AvatarEvalError as e:
        _error(str(e))
        raise typer.Exit(2) from None
    wall = time.perf_counter() - t0

    console.print(f"{len(res.files)} files written in {wall:.1f} s (no metric computed): "
                  + ", ".join(sorted(res.files)), soft_wrap=True)
    if res.theval is not None:
        finals = ", ".join(f"{m} {v:.4f}" for m, v in res.theval.final_scores().items()
                           if not math.isnan(v))
        console.print(f"THEval ({res.theval.variant} variant): {finals or 'no final score'}", markup=False)
    for w in res.warnings:
        console.print(f"  note: {w}", markup=False, soft_wrap=True)
    if res.theval_error:
        console.print(f"[red]THEval score not computed:[/red] {escape(res.theval_error)}", soft_wrap=True,
                      highlight=False)
        if theval_variant is not None or reference is not None or theval_missing is not None:
            raise typer.Exit(1)  # the re-scoring asked for did not happen


def _compare(run_dirs: list[Path], out: Path, formats: str) -> None:
    """``avatar-eval report RUN... --out DIR``: the runs' models side by side."""
    from ..report.build import parse_formats
    from ..report.compare import build_comparison

    try:
        fmts = [f for f in parse_formats(formats) if f in ("html", "md", "csv")]
    except ValueError as e:
        _error(f"--format: {e}")
        raise typer.Exit(2) from None
    if not fmts:
        _error("--format: a comparison writes html, md and/or csv")
        raise typer.Exit(2)
    if any(out.resolve() == d.resolve() for d in run_dirs):
        _error(f"--out {out} is one of the runs: choose another folder for the comparison")
        raise typer.Exit(2)
    t0 = time.perf_counter()
    files = build_comparison(run_dirs, out, formats=fmts)
    console.print(f"{len(files)} files written in {time.perf_counter() - t0:.1f} s (no metric computed): "
                  + ", ".join(str(p) for p in sorted(files.values())), soft_wrap=True, highlight=False)


def site(
    run_dirs: list[Path] = typer.Argument(..., help="Run directories (records.jsonl + run.json); folders without "
                                          "records.jsonl are skipped with a note."),
    out: Path = typer.Option(..., "--out", "-o", help="Site folder: index.html, runs/<run>/report.html, "
                             "leaderboard.csv."),
) -> None:
    """A static multi-run leaderboard: open OUT/index.html from disk or publish the folder (GitHub
    Pages); sortable without a server. Computes no metric."""
    from rich.markup import escape

    from ..report.site import build_site

    runs = []
    for d in run_dirs:
        if (d / "records.jsonl").is_file():
            runs.append(d)
        else:
            console.print(f"  note: {escape(str(d))} skipped: no records.jsonl", soft_wrap=True, highlight=False)
    if not runs:
        _error("no run directory among the arguments (a run directory holds records.jsonl)")
        raise typer.Exit(2)
    if any(out.resolve() == d.resolve() for d in runs):
        _error(f"--out {out} is one of the runs: choose another folder for the site")
        raise typer.Exit(2)
    t0 = time.perf_counter()
    files = build_site(runs, out)
    console.print(f"{len(files)} files written in {time.perf_counter() - t0:.1f} s (no metric computed); "
                  f"open {out / 'index.html'}", soft_wrap=True, highlight=False)
