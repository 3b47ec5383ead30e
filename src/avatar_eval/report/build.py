"""Build every report file of a run directory from its records and ``run.json``.

The runner only computes records (``records.jsonl``) and writes ``run.json``; ``avatar-eval run``
calls :func:`build_reports` after the run, and ``avatar-eval report RUN_DIR`` calls it again on a
finished run (another THEval variant or reference, other formats) without computing any metric.
Each metric's direction and units come from ``run.json`` (:mod:`avatar_eval.report.metadata`).

:func:`build_reports` writes, all atomically (temp file + rename), the files of the chosen
``formats`` (default: all of ``md, csv, parquet, png, html``):

================================  =============================================================
``summary.csv`` / ``.parquet``    per (model, metric, region) aggregates with bootstrap CIs
``records.csv`` / ``.parquet``    flat records (``details`` as JSON)
``leaderboard.md`` / ``.csv``     metrics as rows (a section per protocol) x models, ``mean [lo, hi]
                                  n=N``, direction arrows, best of each row marked
``theval_scores.csv`` / ``.md``   THEval final / dimension / per-metric scores, only when the run
                                  has THEval metrics (the .md holds the error if scoring failed)
``radar.png``                     THEval per-metric scores, or per-metric normalised scores
``report.html``                   (``html``) the self-contained page: leaderboards, THEval scores,
                                  plots, why missing / errors, per-model and per-clip drill-down
                                  (:mod:`avatar_eval.report.html`); frame strips cached in
                                  ``report_cache/``
``report.json``                   always: the settings used, the files written, each metric's
                                  direction/units and where they came from, warnings (read by
                                  ``show``)
================================  =============================================================

An optional file of a chosen format that a build does not produce (e.g. ``radar.png`` with fewer
than 3 axes) is removed if an earlier build left one, so a run directory never shows a stale
chart. Files of formats not chosen are left as they are, and ``report.json`` warns about them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from ..protocols.theval_reference import ReferenceSet
from ..protocols.theval_score import (
    THEvalResult,
    THEvalScoreError,
    all_theval_metric_names,
    theval_markdown,
    theval_score,
)
from ..results.aggregate import aggregate
from ..results.bootstrap import DEFAULT_N_BOOT
from ..results.export import export_run, write_table
from ..results.schema import Record
from ..results.store import atomic_write_bytes, atomic_write_text, read_records
from .metadata import MetricMeta, canonical_records, metric_metadata, run_metrics_info
from .radar import normalised_metric_frame, radar_png_bytes, theval_radar_frame

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_FORMATS", "REPORT_FORMATS", "REPORT_JSON", "ReportResult", "build_reports", "parse_formats"]

REPORT_JSON = "report.json"
#: every format a build can write; report.json is always written
REPORT_FORMATS: tuple[str, ...] = ("md", "csv", "parquet", "png", "html")
#: what ``avatar-eval run`` writes
DEFAULT_FORMATS: tuple[str, ...] = ("md", "csv", "parquet", "png", "html")
#: every file a build may write (besides report.json), with its format
_FILE_FORMAT: dict[str, str] = {
    "summary.csv": "csv", "summary.parquet": "parquet", "records.csv": "csv", "records.parquet": "parquet",
    "leaderboard.md": "md", "leaderboard.csv": "csv", "theval_scores.csv": "csv", "theval_scores.md": "md", "radar.png": "png",
    "report.html": "html",
}
#: files a build of their format does not always write (removed when stale)
_OPTIONAL = ("theval_scores.csv", "theval_scores.md", "radar.png")


def parse_formats(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"md,csv"`` (or a list) -> formats in :data:`REPORT_FORMATS` order; None -> the defaults.
    An unknown format is a ``ValueError`` naming the known ones."""
    if spec is None:
        return DEFAULT_FORMATS
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    asked = {f.strip().lower().lstrip(".") for f in items if f and f.strip()}
    asked.discard("json")  # report.json is always written
    unknown = sorted(asked - set(REPORT_FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}: choose from {', '.join(REPORT_FORMATS)}")
    if not asked:
        raise ValueError(f"no report format given: choose from {', '.join(REPORT_FORMATS)}")
    return tuple(f for f in REPORT_FORMATS if f in asked)


@dataclass
class ReportResult:
    """What :func:`build_reports` wrote."""

    run_dir: Path
    #: file name -> path of every file written by this build
    files: dict[str, Path]
    summary: pd.DataFrame
    #: None when the run has no THEval metric, or when scoring failed (see ``theval_error``)
    theval: THEvalResult | None = None
    theval_error: str | None = None
    #: what the radar chart shows ("theval metrics", "normalised metrics") or why there is none
    radar: str = ""
    warnings: list[str] = field(default_factory=list)
    #: metric -> direction / units used, and their source ("run.json", "registry", "unknown")
    metrics: dict[str, MetricMeta] = field(default_factory=dict)


def build_reports(
    run_dir: str | os.PathLike[str],
    records: Iterable[Record] | None = None,
    *,
    theval_variant: Literal["paper", "compat", "auto"] = "paper",
    reference: str | ReferenceSet | None = None,
    head_motion: str = "facexformer",
    force_reference: bool = False,
    theval_missing: Literal["worst", "common", "zero", "drop"] = "worst",
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    confidence: float = 0.95,
    strict: bool = False,
    formats: str | Iterable[str] | None = None,
    strips: bool = True,
    max_strips: int = 500,
) -> ReportResult:
    """Write the report files of ``run_dir`` from ``records`` (default: ``run_dir/records.jsonl``,
    the latest record of each key, as :class:`~avatar_eval.results.store.RecordStore` reads it).

    Nothing is computed but aggregates and scores: a finished run can be re-rendered and
    re-scored at any time. ``theval_variant``, ``reference``, ``head_motion``, ``force_reference``
    and ``theval_missing`` (as ``missing``: how a metric some models miss enters the final) are passed to :func:`~avatar_eval.protocols.theval_score.theval_score`. A
    THEval scoring error (zero GT value, reference valid for another variant) does not stop the
    other reports: its message goes into ``theval_scores.md``, ``report.json`` and
    ``ReportResult.theval_error``; with ``strict=True`` it is raised after the other files are
    written. ``formats``: see :func:`parse_formats`. Directions and units: ``run_dir/run.json``
    (:func:`~avatar_eval.report.metadata.metric_metadata`). ``strips``: frame strips in
    ``report.html`` (decoded once per clip, cached in ``run_dir/report_cache``), at most
    ``max_strips`` clips.
    """
    run_dir = Path(run_dir)
    fmts = parse_formats(formats)
    run_dir.mkdir(parents=True, exist_ok=True)
    if records is None:
        src = run_dir / "records.jsonl"
        if not src.exists():
            raise FileNotFoundError(f"{src} does not exist: nothing to report")
        # an old run directory's deprecated metric names read as the current ones
        records = {r.key: r for r in canonical_records(read_records(src))}.values()
    records = list(records)

    summary = aggregate(records, n_boot=n_boot, seed=seed, confidence=confidence)
    present = sorted(set(summary["metric"])) if not summary.empty else []
    meta, meta_warnings = metric_metadata(run_dir, present)
    directions = {n: m.direction for n, m in meta.items()}
    units = {n: m.units for n, m in meta.items()}
    from .layout import protocol_groups

    groups = protocol_groups(summary, run_metrics_info(run_dir))
    files = export_run(records, run_dir, summary=summary, directions=directions, units=units,
                       formats=[f for f in fmts if f in ("md", "csv", "parquet")], groups=groups)
    environment = _environment_note(run_dir)
    timing = _timing_note(run_dir)
    flagged = clip_flags_of(records)
    if "leaderboard.md" in files and (environment or timing or flagged or baseline_band_markdown(summary)):
        lb = files["leaderboard.md"]
        extra = "\n\n".join(x for x in (flags_markdown(flagged), baseline_band_markdown(summary), environment,
                                         timing) if x)
        atomic_write_text(lb, lb.read_text().rstrip("\n") + "\n\n" + extra + "\n")
    result = ReportResult(run_dir=run_dir, files=dict(files), summary=summary, metrics=meta)
    result.warnings.extend(meta_warnings)
    written: set[str] = set(files)

    # --- THEval
    error: THEvalScoreError | None = None
    if set(present) & all_theval_metric_names():
        try:
            res = theval_score(
                summary,
                variant=theval_variant,
                head_motion=head_motion,
                reference=reference,
                force_reference=force_reference,
                missing=theval_missing,
            )
        except THEvalScoreError as e:
            error = e
            result.theval_error = str(e)
            result.warnings.append(f"THEval score not computed: {e}")
            log.warning("THEval score not computed: %s", e)
            if "md" in fmts:
                md = "# THEval scores\n\nNot computed:\n\n> " + str(e).replace("\n", "\n> ") + "\n"
                p = run_dir / "theval_scores.md"
                atomic_write_text(p, md)
                result.files[p.name] = p
                written.add(p.name)
        else:
            result.theval = res
            if "csv" in fmts:
                for p in write_table(res.table, run_dir / "theval_scores.csv"):
                    result.files[p.name] = p
                    written.add(p.name)
            if "md" in fmts:
                p = run_dir / "theval_scores.md"
                atomic_write_text(p, theval_markdown(res))
                result.files[p.name] = p
                written.add(p.name)
            result.warnings.extend(res.notes)

    # --- radar
    png: bytes | None = None
    if "png" in fmts or "html" in fmts:
        png, result.radar = _radar(result, summary, directions)
        if png is not None and "png" in fmts:
            radar_path = run_dir / "radar.png"
            atomic_write_bytes(radar_path, png)
            result.files[radar_path.name] = radar_path
            written.add(radar_path.name)
    else:
        result.radar = "no radar chart: png not among the formats"

    for name in _OPTIONAL:
        p = run_dir / name
        if _FILE_FORMAT[name] in fmts and name not in written and p.exists():
            p.unlink()
    left = sorted(n for n, f in _FILE_FORMAT.items() if f not in fmts and (run_dir / n).exists())
    if left:
        result.warnings.append(
            f"not rewritten (format not chosen), may be from an earlier build with other settings: {', '.join(left)}"
        )

    # --- html
    if "html" in fmts:
        from .frames import StripCache
        from .html import report_html
        from .metadata import read_run_json

        cache = StripCache(run_dir) if strips else None
        p = run_dir / "report.html"
        atomic_write_text(p, report_html(result, environment=environment, directions=directions, units=units,
                                         radar_png=png, records=records, run_info=read_run_json(run_dir),
                                         groups=groups, cache=cache, study=study_win_rates(run_dir),
                                         max_strips=max_strips))
        if cache is not None:
            cache.flush()
        result.files[p.name] = p
        written.add(p.name)

    # --- report.json (settings, so `avatar-eval show` can reproduce the numbers)
    info = {
        "settings": {
            "theval_variant": theval_variant,
            "reference": (reference.name if isinstance(reference, ReferenceSet) else reference),
            "head_motion": head_motion,
            "force_reference": force_reference,
            "theval_missing": theval_missing,
            "n_boot": n_boot,
            "seed": seed,
            "confidence": confidence,
        },
        "formats": list(fmts),
        "environment": environment or None,
        "flags": flagged,
        "baseline_band": baseline_band(summary).to_dict("records"),
        "n_records": len(records),
        "files": sorted(result.files),
        "metrics": {n: m.to_dict() for n, m in sorted(meta.items())},
        "radar": result.radar,
        "theval": _theval_info(result.theval),
        "theval_error": result.theval_error,
        "warnings": result.warnings,
    }
    p = run_dir / REPORT_JSON
    atomic_write_text(p, json.dumps(info, indent=2, sort_keys=True, default=_nan_safe) + "\n")
    result.files[p.name] = p

    if strict and error is not None:
        raise error
    return result


def study_win_rates(run_dir: Path) -> tuple[str, dict[str, float]] | None:
    """Human win rates per model from a study analysis kept with the run (``avatar-eval study
    analyze --out RUN_DIR/study``: ``RUN_DIR/study/win_rates.csv``, or ``RUN_DIR/study/analysis/``),
    for the first dimension it holds; None when the run has no study results."""
    for p in (run_dir / "study" / "win_rates.csv", run_dir / "study" / "analysis" / "win_rates.csv"):
        if not p.is_file():
            continue
        try:
            wr = pd.read_csv(p)
        except (OSError, ValueError):
            return None
        if not {"dimension", "model", "win_rate"} <= set(wr.columns) or wr.empty:
            return None
        dim = str(wr["dimension"].iloc[0])
        sel = wr[wr["dimension"] == dim]
        return dim, {str(m): float(v) for m, v in zip(sel["model"], sel["win_rate"]) if pd.notna(v)}
    return None


def _radar(result: ReportResult, summary: pd.DataFrame, directions: Mapping[str, str]) -> tuple[bytes | None, str]:
    """PNG bytes of the radar chart (THEval scores, else normalised metrics) and what it shows
    (or why there is none)."""
    frame, what = pd.DataFrame(), ""
    if result.theval is not None:
        frame = theval_radar_frame(result.theval, "metrics")
        what = "theval metrics"
        if frame.shape[1] < 3:
            frame = theval_radar_frame(result.theval, "dimensions")
            what = "theval dimensions"
    if frame.shape[1] < 3 or frame.empty:
        frame = normalised_metric_frame(summary, directions)
        what = "normalised metrics"
    if not (frame.shape[1] >= 3 and not frame.empty and frame.notna().to_numpy().any()):
        return None, "no radar chart: fewer than 3 metrics with a normalised score"
    if what.startswith("theval"):
        r = result.theval
        assert r is not None
        hm = "" if r.head_motion == "facexformer" else f", head motion: {r.head_motion}"
        title = f"THEval scores ({r.variant} variant{hm}, GT: {r.gt_source.split(' (')[0]})"
        sub = "1 − |m − m_GT| / |m_GT| per axis; 1 = the GT value"
    else:
        title = "Per-metric scores, normalised across models"
        sub = "higher/lower-is-better: min-max over models (1 = best); ≈GT: 1 − |m − m_GT| / |m_GT|"
    return radar_png_bytes(frame, title=title, subtitle=sub), what


def _environment_note(run_dir: Path) -> str:
    """The numeric environment recorded in ``run.json`` (CPU, kernel paths, versions, VAD), as a
    Markdown section; "" when the run directory has no run.json (records exported on their own)."""
    from ..provenance import environment_summary
    from .metadata import read_run_json

    meta = read_run_json(run_dir)
    if meta is None:
        return ""
    env = meta.get("environment")
    if not isinstance(env, dict):
        return ""
    lines = ["## Environment (what can move these numbers)", "", f"- {environment_summary(env)}"]
    vad = meta.get("vad") or {}
    if vad:
        lines.append(f"- VAD: {vad.get('model')} (sha256 {str(vad.get('sha256', '?'))[:16]}…)")
    weights = meta.get("weights") or {}
    for name, digest in sorted(weights.items()):
        lines.append(f"- weights {name}: {digest if digest else 'not found'}")
    lines.append("- Face Mesh floats depend on the CPU's kernel path; measured spread: docs/reproducibility.md")
    return "\n".join(lines)


def _timing_note(run_dir: Path) -> str:
    """Where the last invocation's time went (``run.json["last_run"]``), as a Markdown section."""
    from .metadata import read_run_json
    from .timing import timing_markdown

    meta = read_run_json(run_dir)
    return timing_markdown(meta.get("last_run")) if meta is not None else ""


def _nan_safe(o: object) -> object:
    return str(o)


def _theval_info(res: THEvalResult | None) -> dict[str, object] | None:
    if res is None:
        return None
    final = {m: (None if math.isnan(v) else v) for m, v in res.final_scores().items()}
    return {
        "variant": res.variant,
        "head_motion": res.head_motion,
        "gt_source": res.gt_source,
        "forced_reference": res.forced_reference,
        "metrics": res.slots,
        "final": final,
        "used": {m: res.used(m) for m in res.table["model"]},
        "missing": {m: res.missing(m) for m in res.table["model"]},
    }


def clip_flags_of(records: Iterable[Record]) -> dict[str, dict[str, dict]]:
    """model -> clip -> degenerate-input flags, from the records' details (pipeline/flags.py)."""
    out: dict[str, dict[str, dict]] = {}
    for r in records:
        fl = (r.details or {}).get("flags") if isinstance(r.details, dict) else None
        if fl:
            out.setdefault(r.model, {})[r.sample_id] = fl
    return {m: dict(sorted(v.items())) for m, v in sorted(out.items())}


def flags_markdown(flagged: dict[str, dict[str, dict]]) -> str:
    """The "flagged clips" section of leaderboard.md ('' when no clip is flagged)."""
    if not flagged:
        return ""
    lines = ["## Flagged clips (degenerate input)", "",
             "Said next to the numbers, not scored differently; metrics undefined on such input are skipped "
             "with the reason (pipeline/flags.py).", "", "| model | clip | flags |", "|---|---|---|"]
    for m, clips in flagged.items():
        for c, fl in clips.items():
            desc = ", ".join(k if v is True else f"{k} ({', '.join(f'{a}={b}' for a, b in v.items())})"
                             if isinstance(v, dict) else f"{k}={v}" for k, v in fl.items())
            lines.append(f"| {m} | {c} | {desc} |")
    return "\n".join(lines)


#: reference baselines (avatar-eval generate --baseline): the floor and the ceiling of every metric
FLOOR_BASELINE, CEILING_BASELINE = "still", "gt-copy"


def baseline_band(summary: pd.DataFrame) -> pd.DataFrame:
    """Where each model falls between the ``still`` baseline (0) and the ``gt-copy`` baseline (1),
    per metric: (model − still) / (gt-copy − still) on the clip means. Empty without both baselines."""
    if summary.empty or "model" not in summary:
        return pd.DataFrame()
    rows = summary[summary["level"] == "sample"] if "level" in summary else summary
    models = set(rows["model"])
    if not {FLOOR_BASELINE, CEILING_BASELINE} <= models:
        return pd.DataFrame()
    out = []
    for (metric, region), g in rows.groupby(["metric", "region"], sort=True):
        m = dict(zip(g["model"], g["mean"].astype(float)))
        lo, hi = m.get(FLOOR_BASELINE), m.get(CEILING_BASELINE)
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or abs(hi - lo) < 1e-12:
            continue
        for model, v in m.items():
            if model in (FLOOR_BASELINE, CEILING_BASELINE) or model == "gt" or not math.isfinite(v):
                continue
            out.append({"metric": metric, "region": region, "model": model, "value": v, "floor": lo, "ceiling": hi,
                        "position": (v - lo) / (hi - lo)})
    return pd.DataFrame(out)


def baseline_band_markdown(summary: pd.DataFrame) -> str:
    """The "between floor and ceiling" section of leaderboard.md ('' without both baselines)."""
    band = baseline_band(summary)
    if band.empty:
        return ""
    lines = [f"## Between floor ({FLOOR_BASELINE}) and ceiling ({CEILING_BASELINE})", "",
             f"Position = (model − {FLOOR_BASELINE}) / ({CEILING_BASELINE} − {FLOOR_BASELINE}) of the clip means: 0 = the "
             "reference image held still with the audio, 1 = the GT itself; outside [0, 1] = below the floor or "
             "beyond the GT (docs/generate.md).", "", "| metric | region | model | value | floor | ceiling | position |",
             "|---|---|---|---|---|---|---|"]
    for r in band.to_dict("records"):
        lines.append(f"| {r['metric']} | {r['region']} | {r['model']} | {r['value']:.4g} | {r['floor']:.4g} | "
                     f"{r['ceiling']:.4g} | {r['position']:.2f} |")
    return "\n".join(lines)
