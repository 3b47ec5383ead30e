"""Write a run's records and aggregates to CSV / Parquet / Markdown (every write atomic).

Files (all under the run directory, written with temp file + rename through
:func:`~avatar_eval.results.store.atomic_write_bytes`):

* ``summary.csv`` / ``summary.parquet``: the tidy frame of :func:`~avatar_eval.results.aggregate.aggregate`;
* ``records.csv`` / ``records.parquet``: one row per record, ``details`` as a JSON string;
* ``leaderboard.md`` / ``leaderboard.csv``: metrics as rows (sections per protocol when the report
  passes them), models as columns, cells ``mean [lo, hi] n=N``, the metric's direction (↑ / ↓ / ≈GT)
  next to its name, the best model of a row in bold, a footnote for every skipped / error reason.

:func:`read_table` reads either format back with the same dtypes (missing or empty strings as
``None``: CSV cannot tell them apart, so neither format does).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from ..errors import UnknownNameError
from .aggregate import SUMMARY_COLUMNS, aggregate, dedupe_records, model_order
from .bootstrap import DEFAULT_N_BOOT
from .schema import GT_MODEL, Record
from .store import _json_default, atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

__all__ = [
    "ARROWS",
    "RECORD_COLUMNS",
    "TABLE_FORMATS",
    "BoardRow",
    "Direction",
    "Group",
    "best_models",
    "cell_text",
    "column_label",
    "direction_of",
    "export_run",
    "is_gt_model",
    "leaderboard_frame",
    "leaderboard_markdown",
    "leaderboard_rows",
    "metric_direction",
    "read_table",
    "records_frame",
    "write_leaderboard",
    "write_records",
    "write_summary",
    "write_table",
]

Direction = Literal["higher", "lower", "gt", "unknown"]

#: header arrow of each direction
ARROWS: dict[str, str] = {"higher": "↑", "lower": "↓", "gt": "≈GT", "unknown": "?"}

RECORD_COLUMNS: tuple[str, ...] = (
    "model",
    "sample_id",
    "metric",
    "region",
    "status",
    "value",
    "metric_version",
    "reason",
    "message",
    "details",
    "elapsed_s",
)

_STR, _FLOAT, _INT = "str", "float", "int"

_RECORD_SCHEMA: dict[str, str] = {
    "model": _STR,
    "sample_id": _STR,
    "metric": _STR,
    "region": _STR,
    "status": _STR,
    "value": _FLOAT,
    "metric_version": _STR,
    "reason": _STR,
    "message": _STR,
    "details": _STR,
    "elapsed_s": _FLOAT,
}

_SUMMARY_SCHEMA: dict[str, str] = {
    c: (
        _FLOAT
        if c in ("mean", "ci_lo", "ci_hi", "std", "confidence")
        else _INT
        if c.startswith("n_")
        else _STR
    )
    for c in SUMMARY_COLUMNS
}


# --------------------------------------------------------------------------- metric direction


def direction_of(higher_is_better: object) -> Direction:
    """The direction of a ``higher_is_better`` flag: True -> ``"higher"``, False -> ``"lower"``,
    None -> ``"gt"`` (closer to GT is better), anything else -> ``"unknown"``."""
    if higher_is_better is True:
        return "higher"
    if higher_is_better is False:
        return "lower"
    if higher_is_better is None:
        return "gt"
    return "unknown"


def metric_direction(name: str) -> Direction:
    """``"higher"`` / ``"lower"`` / ``"gt"`` (closer to GT is better) from the metric's class.

    Read from ``get_metric_class(name).higher_is_better`` of the *installed* code. Reports of a
    run read the direction recorded in its ``run.json`` instead
    (:func:`avatar_eval.report.metadata.metric_metadata`) and come here only for names it lacks.
    Metrics that are not registered (or importable) are ``"unknown"``, never guessed.
    """
    try:
        from ..metrics.registry import get_metric_class

        hib = get_metric_class(name).higher_is_better
    except UnknownNameError:
        return "unknown"
    except Exception as e:  # a metric module that fails to import must not break a report
        log.warning("direction of metric %r unknown: %s: %s", name, type(e).__name__, e)
        return "unknown"
    return direction_of(hib)


# --------------------------------------------------------------------------- tables


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """Flat records (last record of a key wins), ``details`` as a JSON string."""
    rows = []
    for r in dedupe_records(records):
        rows.append(
            {
                "model": r.model,
                "sample_id": r.sample_id,
                "metric": r.metric,
                "region": r.region,
                "status": r.status,
                "value": math.nan if r.value is None else float(r.value),
                "metric_version": r.metric_version,
                "reason": r.reason,
                "message": r.message,
                "details": json.dumps(r.details or {}, default=_json_default, sort_keys=True),
                "elapsed_s": math.nan if r.elapsed_s is None else float(r.elapsed_s),
            }
        )
    return _normalise(pd.DataFrame(rows, columns=list(RECORD_COLUMNS)), _RECORD_SCHEMA)


def _schema_for(df: pd.DataFrame) -> dict[str, str]:
    if list(df.columns) == list(RECORD_COLUMNS):
        return _RECORD_SCHEMA
    if list(df.columns) == list(SUMMARY_COLUMNS):
        return _SUMMARY_SCHEMA
    out: dict[str, str] = {}
    for c in df.columns:
        if pd.api.types.is_bool_dtype(df[c]):
            out[c] = _STR
        elif pd.api.types.is_integer_dtype(df[c]):
            out[c] = _INT
        elif pd.api.types.is_float_dtype(df[c]):
            out[c] = _FLOAT
        else:
            out[c] = _STR
    return out


def _normalise(df: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """Fixed dtypes: float64, int64, and object strings with ``None`` for missing or empty."""
    df = df.copy()
    for c, kind in schema.items():
        if c not in df.columns:
            continue
        s = df[c]
        if kind == _FLOAT:
            df[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif kind == _INT:
            df[c] = pd.to_numeric(s).astype("int64")
        else:
            # one representation of "no string": None (CSV cannot tell "" from missing)
            vals = [None if _is_missing(v) or v == "" else str(v) for v in s.tolist()]
            df[c] = pd.Series(vals, index=df.index, dtype=object)
    return df


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _parquet_bytes(df: pd.DataFrame, schema: Mapping[str, str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {_STR: pa.string(), _FLOAT: pa.float64(), _INT: pa.int64()}
    fields = [pa.field(c, types[schema.get(c, _STR)]) for c in df.columns]
    arrays = []
    for c, f in zip(df.columns, fields):
        vals = df[c].tolist()
        if f.type == pa.float64():
            arrays.append(pa.array(vals, type=f.type, from_pandas=True))
        else:
            arrays.append(pa.array(vals, type=f.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_table(
    df: pd.DataFrame,
    csv_path: str | os.PathLike[str] | None = None,
    parquet_path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write ``df`` atomically as CSV and/or Parquet (same dtypes in both); returns the paths."""
    schema = _schema_for(df)
    df = _normalise(df, schema)
    written: list[Path] = []
    if csv_path is not None:
        atomic_write_text(csv_path, df.to_csv(index=False, lineterminator="\n"))
        written.append(Path(csv_path))
    if parquet_path is not None:
        atomic_write_bytes(parquet_path, _parquet_bytes(df, schema))
        written.append(Path(parquet_path))
    return written


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (``.csv`` or ``.parquet``) with its dtypes."""
    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, float_precision="round_trip", keep_default_na=False, na_values=[""])
    return _normalise(df, _schema_for(df))


def write_summary(summary: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """``summary.csv`` and ``summary.parquet``."""
    out = Path(out_dir)
    return write_table(summary, out / "summary.csv", out / "summary.parquet")


def write_records(records: Iterable[Record], out_dir: str | os.PathLike[str]) -> list[Path]:
    """``records.csv`` and ``records.parquet`` (flat records, ``details`` as JSON)."""
    out = Path(out_dir)
    return write_table(records_frame(records), out / "records.csv", out / "records.parquet")


# --------------------------------------------------------------------------- leaderboard


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.4g}"


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def column_label(metric: str, region: str, level: str) -> str:
    """Column title of a (metric, region, level) without the arrow."""
    label = metric if region in ("full", "", None) else f"{metric} @{region}"
    return label


def cell_text(row: Mapping[str, object]) -> str:
    """``mean [lo, hi] n=N`` (sample level), ``value (dataset)``, or ``—`` when no value."""
    mean = float(row["mean"])  # type: ignore[arg-type]
    n_ok = int(row["n_ok"])  # type: ignore[call-overload]
    if row["level"] == "dataset":
        return f"{_fmt(mean)} (dataset)" if not math.isnan(mean) else "— (dataset)"
    if math.isnan(mean):
        return "— n=0"
    lo, hi = float(row["ci_lo"]), float(row["ci_hi"])  # type: ignore[arg-type]
    ci = f" [{_fmt(lo)}, {_fmt(hi)}]" if not (math.isnan(lo) or math.isnan(hi)) else " [no CI]"
    return f"{_fmt(mean)}{ci} n={n_ok}"


#: a leaderboard section: its title and its rows ``(metric, region, level, label)`` in order
Group = tuple[str, Sequence[tuple[str, str, str, str]]]


@dataclass(frozen=True)
class BoardRow:
    """One row of a leaderboard (metrics as rows, models as columns)."""

    section: str
    metric: str
    region: str
    level: str
    #: what the row is called (the metric name, ``@region`` when not full)
    label: str
    direction: str
    units: str
    #: model -> its summary row (a model without a record of this metric is absent)
    cells: dict[str, dict[str, object]] = field(default_factory=dict)
    #: the models with the best value of the row (none: direction unknown, or fewer than two to compare)
    best: tuple[str, ...] = ()


def is_gt_model(model: str) -> bool:
    """Whether a leaderboard column holds GT clips (``gt``, or ``gt (run)`` in a comparison)."""
    return model == GT_MODEL or model.startswith(GT_MODEL + " (")


def best_models(cells: Mapping[str, Mapping[str, object]], direction: str,
                gt_of: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The models with the best mean of a row: highest (↑), lowest (↓), or closest to their GT
    column's mean (≈GT; ``gt_of`` maps a model to its GT column, default ``gt``). GT columns
    never win; ties all win; nothing with an unknown direction or fewer than two models."""
    vals = {}
    for model, row in cells.items():
        v = float(row["mean"])  # type: ignore[arg-type]
        if is_gt_model(model) or not math.isfinite(v):
            continue
        if direction == "gt":
            g = cells.get((gt_of or {}).get(model, GT_MODEL))
            gv = float(g["mean"]) if g is not None else math.nan  # type: ignore[arg-type]
            if not math.isfinite(gv):
                continue
            vals[model] = -abs(v - gv)
        elif direction == "higher":
            vals[model] = v
        elif direction == "lower":
            vals[model] = -v
    if direction not in ("higher", "lower", "gt") or len(vals) < 2:
        return ()
    top = max(vals.values())
    return tuple(m for m, v in vals.items() if math.isclose(v, top, rel_tol=1e-12, abs_tol=0.0))


def leaderboard_rows(
    summary: pd.DataFrame,
    *,
    directions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    groups: Sequence[Group] | None = None,
    gt_of: Mapping[str, str] | None = None,
) -> tuple[list[str], list[BoardRow]]:
    """The models (columns, GT first) and rows of a leaderboard with metrics as rows.

    ``groups`` orders the rows into titled sections (the report makes them per protocol:
    :func:`avatar_eval.report.layout.protocol_groups`); rows of the summary that no group names
    go to a last section "Other metrics". Without ``groups``: one section, rows sorted by name.
    """
    if summary.empty:
        return [], []
    keys = list(summary[["metric", "region", "level"]].drop_duplicates()
                .sort_values(["metric", "region", "level"], kind="stable").itertuples(index=False, name=None))
    dirs = {m: (directions or {}).get(m) or metric_direction(m) for m in summary["metric"].unique()}
    models = model_order(summary["model"])
    gts = [m for m in models if is_gt_model(m)]
    models = gts + [m for m in models if m not in gts]
    by_key: dict[tuple[str, str, str], dict[str, dict[str, object]]] = {}
    for r in summary.to_dict("records"):
        by_key.setdefault((r["metric"], r["region"], r["level"]), {})[str(r["model"])] = r
    ordered: list[tuple[str, tuple[str, str, str], str]] = []
    seen: set[tuple[str, str, str]] = set()
    for title, items in (groups or []):
        for metric, region, level, label in items:
            k = (metric, region, level)
            if k in by_key and k not in seen:
                ordered.append((title, k, label))
                seen.add(k)
    rest = [k for k in keys if k not in seen]
    other = "Other metrics" if groups else "Metrics"
    ordered += [(other, k, column_label(*k)) for k in rest]
    rows = []
    for title, (metric, region, level), label in ordered:
        cells = by_key[(metric, region, level)]
        d = dirs.get(metric, "unknown")
        rows.append(BoardRow(title, metric, region, level, label, d, str((units or {}).get(metric) or ""),
                             dict(cells), best_models(cells, d, gt_of)))
    return models, rows


def _reason_notes(row: Mapping[str, object]) -> list[tuple[str, str, int]]:
    """(status, reason, count) of a summary row's skipped and error clips."""
    out = []
    for status, col in (("skipped", "skip_reasons"), ("error", "error_reasons")):
        for reason, count in json.loads(str(row[col] or "{}")).items():
            out.append((status, str(reason), int(count)))
    return out


def leaderboard_markdown(
    summary: pd.DataFrame,
    *,
    title: str = "Leaderboard",
    directions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    groups: Sequence[Group] | None = None,
    gt_of: Mapping[str, str] | None = None,
) -> str:
    """Markdown leaderboard: metrics as rows (one section per group), models as columns.

    Cells ``mean [lo, hi] n=N``; the best model of a row in bold. ``directions`` maps metric
    name -> direction (a name it lacks: :func:`metric_direction`, the installed registry);
    ``units`` maps metric name -> unit, listed under the tables when any is non-empty.
    ``groups`` / ``gt_of``: see :func:`leaderboard_rows`.
    """
    lines = [f"# {title}", ""]
    if summary.empty:
        return "\n".join(lines + ["No records.", ""])
    conf = float(summary["confidence"].iloc[0]) if "confidence" in summary else 0.95
    sample_boots = summary.loc[summary["level"] == "sample", "n_boot"] if "n_boot" in summary else []
    n_boot = int(max(sample_boots)) if len(sample_boots) else 0
    models, rows = leaderboard_rows(summary, directions=directions, units=units, groups=groups, gt_of=gt_of)

    lines.append(
        f"Cells: mean over clips [{conf:.0%} percentile-bootstrap CI of the mean, {n_boot} resamples] "
        "n = clips with a value; `(dataset)` = one distribution-level value (no CI); **bold** = best of the row."
    )
    header = "| metric | " + " | ".join(_md_escape(m) + (" (GT)" if m == GT_MODEL else "") for m in models) + " |"
    rule = "|" + "|".join(["---"] * (len(models) + 1)) + "|"
    footnotes: list[str] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"## {_md_escape(section)}", "", header, rule]
        cells = [f"{_md_escape(row.label)} {ARROWS.get(row.direction, '?')}"]
        for model in models:
            srow = row.cells.get(model)
            if srow is None:
                cells.append("—")
                continue
            text = cell_text(srow)
            if model in row.best:
                text = f"**{text}**"
            marks = []
            for status, reason, count in _reason_notes(srow):
                footnotes.append(f"{model} · {row.label}: {count} clip(s) {status} (reason: {reason})")
                marks.append(f"[{len(footnotes)}]")
            cells.append(_md_escape(text + (" " + "".join(marks) if marks else "")))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    used = sorted({r.direction for r in rows})
    legend = {
        "higher": "↑ higher is better",
        "lower": "↓ lower is better",
        "gt": "≈GT closer to the GT clips' value is better",
        "unknown": "? direction unknown (metric not registered)",
    }
    lines.append("Direction: " + " · ".join(legend.get(d, d) for d in used))
    shown_units = [(m, (units or {}).get(m)) for m in dict.fromkeys(r.metric for r in rows)]
    shown_units = [(m, u) for m, u in shown_units if u]
    if shown_units:
        lines.append("Units: " + " · ".join(f"{_md_escape(m)}: {_md_escape(u)}" for m, u in shown_units))
    if footnotes:
        lines += ["", "Clips without a value:", ""]
        lines += [f"{i}. {_md_escape(t)}" for i, t in enumerate(footnotes, 1)]
    lines.append("")
    return "\n".join(lines)


def leaderboard_frame(
    summary: pd.DataFrame,
    *,
    directions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    groups: Sequence[Group] | None = None,
    gt_of: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The leaderboard as a table (``leaderboard.csv``): one row per metric as in the Markdown,
    then per model ``<model>:mean``, ``:ci_lo``, ``:ci_hi``, ``:n`` (clips with a value), and
    ``best`` (the best models of the row, ``;``-separated)."""
    models, rows = leaderboard_rows(summary, directions=directions, units=units, groups=groups, gt_of=gt_of)
    out = []
    for row in rows:
        d: dict[str, object] = {"section": row.section, "metric": row.metric, "region": row.region,
                                "level": row.level, "label": row.label, "direction": row.direction,
                                "units": row.units, "best": ";".join(row.best)}
        for model in models:
            s = row.cells.get(model)
            d[f"{model}:mean"] = math.nan if s is None else float(s["mean"])  # type: ignore[arg-type]
            d[f"{model}:ci_lo"] = math.nan if s is None else float(s["ci_lo"])  # type: ignore[arg-type]
            d[f"{model}:ci_hi"] = math.nan if s is None else float(s["ci_hi"])  # type: ignore[arg-type]
            d[f"{model}:n"] = 0 if s is None else int(s["n_ok"])  # type: ignore[call-overload]
        out.append(d)
    cols = ["section", "metric", "region", "level", "label", "direction", "units", "best"]
    cols += [f"{m}:{k}" for m in models for k in ("mean", "ci_lo", "ci_hi", "n")]
    return pd.DataFrame(out, columns=cols)


def write_leaderboard(
    summary: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "Leaderboard",
    directions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    groups: Sequence[Group] | None = None,
) -> Path:
    path = Path(out_dir) / "leaderboard.md"
    atomic_write_text(path, leaderboard_markdown(summary, title=title, directions=directions, units=units,
                                                 groups=groups))
    return path


#: the table formats :func:`export_run` can write
TABLE_FORMATS: tuple[str, ...] = ("csv", "parquet", "md")


def export_run(
    records: Iterable[Record],
    out_dir: str | os.PathLike[str],
    *,
    summary: pd.DataFrame | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    confidence: float = 0.95,
    directions: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    formats: Iterable[str] = TABLE_FORMATS,
    groups: Sequence[Group] | None = None,
) -> dict[str, Path]:
    """Write summary.{csv,parquet}, records.{csv,parquet}, leaderboard.csv and leaderboard.md;
    returns their paths.

    ``formats`` chooses among ``csv``, ``parquet`` (summary and records; csv also the
    leaderboard table) and ``md`` (leaderboard); ``directions`` / ``units`` / ``groups`` go to
    :func:`leaderboard_markdown` and :func:`leaderboard_frame`."""
    records = list(records)
    fmts = set(formats)
    if summary is None:
        summary = aggregate(records, n_boot=n_boot, seed=seed, confidence=confidence)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    csv, parquet = "csv" in fmts, "parquet" in fmts
    if csv or parquet:
        written = write_table(summary, out / "summary.csv" if csv else None, out / "summary.parquet" if parquet else None)
        frame = records_frame(records)
        written += write_table(frame, out / "records.csv" if csv else None, out / "records.parquet" if parquet else None)
        if csv:
            written += write_table(leaderboard_frame(summary, directions=directions, units=units, groups=groups),
                                   out / "leaderboard.csv")
        for p in written:
            paths[p.name] = p
    if "md" in fmts:
        paths["leaderboard.md"] = write_leaderboard(summary, out, directions=directions, units=units, groups=groups)
    return paths
