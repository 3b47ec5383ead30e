"""``avatar-eval show RUN_DIR``: the leaderboard (and THEval scores) of a run in the terminal.

:func:`show_run` reads ``records.jsonl`` (and ``run.json`` / ``report.json`` when present),
aggregates the records exactly as :func:`~avatar_eval.report.build.build_reports` does (same
bootstrap settings, read from ``report.json``; each metric's direction from ``run.json``, see
:mod:`avatar_eval.report.metadata`), and prints rich tables.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..protocols.theval_score import SLOTS, THEvalScoreError, all_theval_metric_names, theval_score
from ..results.aggregate import aggregate, model_order
from ..results.bootstrap import DEFAULT_N_BOOT
from ..results.export import ARROWS, cell_text, column_label, metric_direction
from ..results.store import read_records
from .metadata import metric_metadata

__all__ = ["leaderboard_table", "show_run", "theval_table"]


def _load_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def leaderboard_table(
    summary: pd.DataFrame,
    *,
    title: str = "Leaderboard",
    transpose: bool | None = None,
    width: int = 120,
    directions: Mapping[str, str] | None = None,
) -> tuple[Table, list[str]]:
    """A rich leaderboard table and its footnotes (skipped / error reason counts).

    Models are rows and metrics columns; with many metrics for the terminal ``width``
    (``transpose=None`` decides) the table is transposed (metrics as rows) so cells stay
    readable. ``directions``: metric -> direction (a name it lacks: the installed registry).
    """
    cols = list(
        summary[["metric", "region", "level"]]
        .drop_duplicates()
        .sort_values(["metric", "region", "level"], kind="stable")
        .itertuples(index=False, name=None)
    )
    models = model_order(summary["model"])
    dirs = {m: (directions or {}).get(m) or metric_direction(m) for m in summary["metric"].unique()}
    by_key = {(r["model"], r["metric"], r["region"], r["level"]): r for r in summary.to_dict("records")}
    notes: list[str] = []
    cells: dict[tuple[str, tuple[str, str, str]], str] = {}
    for model in models:
        for key in cols:
            m, reg, lev = key
            row = by_key.get((model, m, reg, lev))
            if row is None:
                cells[(model, key)] = "—"
                continue
            text = cell_text(row).replace(" [", "\n[", 1).replace(" n=", "\nn=", 1)
            for status, col in (("skipped", "skip_reasons"), ("error", "error_reasons")):
                for reason, count in json.loads(str(row[col]) or "{}").items():
                    notes.append(f"{model} · {column_label(m, reg, lev)}: {count} {status} ({reason})")
                    text += f" [{len(notes)}]"
            cells[(model, key)] = text
    heads = {key: f"{column_label(*key)} {ARROWS[dirs[key[0]]]}" for key in cols}
    model_names = {m: m + (" (GT)" if m == "gt" else "") for m in models}
    if transpose is None:
        transpose = (len(cols) + 1) * 22 > width and len(models) < len(cols)
    if not transpose:
        table = Table(title=title, header_style="bold")
        table.add_column("model", style="bold", no_wrap=True)
        for key in cols:
            table.add_column(heads[key], overflow="fold")
        for model in models:
            table.add_row(model_names[model], *[cells[(model, key)] for key in cols])
    else:
        table = Table(title=f"{title} (metrics as rows)", header_style="bold")
        table.add_column("metric", style="bold", overflow="fold")
        for model in models:
            table.add_column(model_names[model], overflow="fold")
        for key in cols:
            table.add_row(heads[key], *[cells[(model, key)] for model in models])
    return table, notes


def _f(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def theval_table(result: Any) -> Table:
    """A rich table of a :class:`~avatar_eval.protocols.theval_score.THEvalResult`."""
    t = Table(
        title=f"THEval scores — {result.variant} variant, head motion {result.head_motion}, GT: {result.gt_source}",
        header_style="bold",
    )
    for c in ("model", "final", "quality", "naturalness", "synchronization", "averaged", "missing"):
        t.add_column(c, overflow="fold")
    for r in result.table.to_dict("records"):
        t.add_row(
            str(r["model"]),
            _f(r["final"]),
            _f(r["quality"]),
            _f(r["naturalness"]),
            _f(r["synchronization"]),
            f"{r['n_used']}/{len(SLOTS)}",
            ", ".join(_missing_text(result, r["model"], k) for k in result.missing_slots(r["model"])) or "—",
        )
    return t


def _missing_text(result: Any, model: str, slot: str) -> str:
    """A missing slot, with the score the missing-metric rule gave it in the final (if any)."""
    pen = getattr(result, "penalties", {}).get(model, {})
    if slot in pen:
        return f"{slot} (scored {pen[slot]:.2f}, '{result.missing_rule}' rule)"
    if slot in getattr(result, "dropped_slots", []):
        return f"{slot} (dropped for all)"
    return slot


def show_run(
    run_dir: str | os.PathLike[str],
    console: Console | None = None,
    *,
    theval_variant: str | None = None,
    reference: str | None = None,
    n_boot: int | None = None,
    seed: int | None = None,
) -> None:
    """Print the leaderboard of ``run_dir`` and, with THEval metrics present, the THEval scores.

    Settings not given are taken from ``report.json`` (written by ``build_reports``), else:
    THEval variant ``auto``, GT from the run's GT clips, 10,000 bootstrap resamples, seed 0.
    Raises ``FileNotFoundError`` when ``run_dir/records.jsonl`` is missing.
    """
    console = console or Console()
    run_dir = Path(run_dir)
    src = run_dir / "records.jsonl"
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist (is {run_dir} a run directory?)")
    settings = (_load_json(run_dir / "report.json") or {}).get("settings", {}) or {}
    variant = theval_variant or settings.get("theval_variant") or "auto"
    ref = reference if reference is not None else settings.get("reference")
    n_boot = n_boot if n_boot is not None else int(settings.get("n_boot", DEFAULT_N_BOOT))
    seed = seed if seed is not None else settings.get("seed", 0)

    run_info = _load_json(run_dir / "run.json")
    console.print(f"[bold]Run[/bold] {run_dir}")
    if run_info:
        shown = {k: v for k, v in run_info.items() if isinstance(v, (str, int, float, bool)) and v != ""}
        for k in sorted(shown)[:12]:
            console.print(f"  {k}: {shown[k]}")

    from .metadata import canonical_records

    records = canonical_records(read_records(src))
    if not records:
        console.print("No records yet.")
        return
    summary = aggregate(records, n_boot=n_boot, seed=seed)
    meta, meta_warnings = metric_metadata(run_dir, set(summary["metric"]))
    table, notes = leaderboard_table(summary, width=console.width,
                                     directions={n: m.direction for n, m in meta.items()})
    console.print(table)
    conf = float(summary["confidence"].iloc[0])
    console.print(
        f"mean over clips [{conf:.0%} percentile-bootstrap CI, {n_boot} resamples] n = clips with a value · "
        "↑ higher is better · ↓ lower is better · ≈GT closer to GT is better · ? unknown direction"
    )
    for i, n in enumerate(notes, 1):
        console.print(f"  [{i}] {n}", markup=False)
    for w in meta_warnings:
        console.print(f"  note: {w}", markup=False)

    if set(summary["metric"]) & all_theval_metric_names():
        try:
            res = theval_score(summary, variant=variant, reference=ref,  # type: ignore[arg-type]
                               head_motion=settings.get("head_motion", "facexformer"),
                               force_reference=bool(settings.get("force_reference", False)),
                               missing=settings.get("theval_missing", "worst"))
        except THEvalScoreError as e:
            console.print(f"[red]THEval score not computed:[/red] {e}")
            return
        console.print(theval_table(res))
        for line in res.missing_reasons():
            console.print(f"  missing: {line}", markup=False)
        for n in res.notes:
            console.print(f"  note: {n}", markup=False)
