"""JWB-DH-V1 tables from records: metrics × regions × models (like the paper's Table 2).

>>> from avatar_eval.protocols.jwbdh import build_table, wide_table, write_tables
>>> long = build_table(records)                     # doctest: +SKIP
>>> write_tables(long, "OUT", stem="jwbdh_table")   # doctest: +SKIP  (.md, .csv, .parquet)

``build_table`` gives one row per (model, region, metric, variant): the mean over the samples'
``ok`` records (pair/sample metrics) with a bootstrap percentile CI over samples, or the dataset
value (FID/FVD: ``sample_id == "__dataset__"``, no CI: the records do not hold per-clip
features), plus ``n_clips`` (samples that entered), ``n_frames`` (sum of the records'
``details.n_frames`` / ``n_gen``), ``n_skipped`` / ``n_error`` and the most common skip reason.
``failed_as_zero=True`` reproduces JWB-DH's ``SC_calculate.py`` averaging, which counts failed
crops as all-zero rows (use it only to compare with the paper's numbers).

Which records enter, and where, is read from each metric's naming fields (metrics/naming.py:
``run.json``'s ``metrics`` entry, else the registry; a deprecated old name through the alias table),
never parsed from its name: families ``jwbdh`` and ``hands``, and ``vbench`` for the six dimensions.
The ``paper`` and ``offline`` variants (e.g. ``vbench.dynamic_degree.face.offline``, DIS flow for
RAFT) fill the default table, an offline row labelled with its estimator; ``compat`` and
``offline_compat`` the compat table.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..results.bootstrap import DEFAULT_N_BOOT

DATASET = "__dataset__"
REGION_ORDER = ["full", "face", "hands", "left_hand", "right_hand", "mouth"]
REGION_LABEL = {"full": "Whole body", "face": "Face", "hands": "Hands", "left_hand": "Left hand",
                "right_hand": "Right hand", "mouth": "Mouth"}
TABLE_FAMILIES = ("jwbdh", "vbench", "hands")
METRIC_ORDER = ["fid", "fvd", "ssim", "psnr", "edge_fid", "pixel_csim", "lpips", "lpips_vgg", "subject_consistency",
                "background_consistency", "motion_smoothness", "dynamic_degree", "aesthetic_quality",
                "imaging_quality", "csim", "expression_fid", "hkc", "hkv"]
METRIC_LABEL = {"fid": "FID↓", "fvd": "FVD↓", "ssim": "SSIM↑", "psnr": "PSNR↑", "edge_fid": "E-FID↓",
                "pixel_csim": "CSIM↑", "subject_consistency": "SC↑", "background_consistency": "BC↑",
                "motion_smoothness": "MS↑", "dynamic_degree": "DD", "aesthetic_quality": "AQ↑",
                "imaging_quality": "IQ↑", "csim": "ID-CSIM↑", "lpips": "LPIPS↓", "lpips_vgg": "LPIPS-VGG↓",
                "expression_fid": "Expr-FID↓", "hkc": "HKC↑", "hkv": "HKV↑"}


class TableCell(NamedTuple):
    """Where a metric's records go in the JWB-DH table."""

    metric: str  #: column key: the quantity, ``<quantity>.<estimator>`` for an offline variant
    region: str
    variant: str  #: table: "default" (paper and offline variants) or "compat"
    label: str  #: column label


def table_cell(name: str, run_metrics: dict | None = None) -> TableCell | None:
    """The JWB-DH table cell of metric ``name`` from its fields (``run_metrics``: ``run.json``'s
    ``metrics``), or None when the metric is not in the table."""
    from ..metrics.naming import metric_fields

    f = metric_fields(name, run_metrics)
    if f is None or f.family not in TABLE_FAMILIES:
        return None
    if f.family == "vbench" and f.quantity not in METRIC_ORDER:
        return None
    table = "compat" if f.variant in ("compat", "offline_compat") else "default"
    # the hands family measures the hands: its names carry no region, its cells sit in the Hands section
    region = "hands" if f.family == "hands" and f.region == "full" else f.region
    label = METRIC_LABEL.get(f.quantity, f.quantity)
    key = f.quantity
    if f.variant in ("offline", "offline_compat"):
        key = f"{f.quantity}.{f.estimator or 'offline'}"
        label = f"{label} [{f.estimator or 'offline'}]"
    return TableCell(key, region, table, label)


def _metric_rank(key: str) -> tuple[int, str]:
    """Column order: the quantity's place in METRIC_ORDER, an offline estimator after it."""
    q = key.split(".", 1)[0]  # a TableCell key, not a metric name
    return (METRIC_ORDER.index(q) if q in METRIC_ORDER else len(METRIC_ORDER), key)


def _get(r: Any, k: str, default=None):
    return r.get(k, default) if isinstance(r, dict) else getattr(r, k, default)


def _frames(details: dict) -> int:
    for k in ("n_frames", "n_gen", "n_used"):
        v = details.get(k) if isinstance(details, dict) else None
        if isinstance(v, (int, np.integer)):
            return int(v)
    return 0


def build_table(records: Iterable[Any], *, models: list[str] | None = None, n_boot: int = DEFAULT_N_BOOT,
                ci: float = 0.95, seed: int = 0, failed_as_zero: bool = False, include_gt: bool = False,
                run_metrics: dict | None = None):
    """Long table (pandas DataFrame) of JWB-DH cells; see the module doc. CIs:
    :func:`avatar_eval.results.aggregate.bootstrap_ci` (its default ``n_boot``). ``run_metrics``:
    ``run.json``'s ``metrics`` (each metric's fields as the run recorded them)."""
    import pandas as pd

    from ..metrics.registry import canonical_name
    from ..results.aggregate import bootstrap_ci

    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    cells: dict[str, TableCell | None] = {}
    for r in records:
        name = _get(r, "metric")
        if name not in cells:
            cells[name] = table_cell(name, run_metrics)
        p = cells[name]
        if p is None:
            continue
        model = _get(r, "model")
        if model == "gt" and not include_gt:
            continue
        if models is not None and model not in models:
            continue
        key = (model, p.region, p.metric, p.variant)
        g = groups.setdefault(key, {"values": [], "frames": 0, "skipped": 0, "error": 0, "reasons": Counter(),
                                    "dataset": None, "metric_name": canonical_name(name), "label": p.label})
        status = _get(r, "status")
        details = _get(r, "details") or {}
        if status == "ok":
            if _get(r, "sample_id") == DATASET:
                g["dataset"] = float(_get(r, "value"))
                g["frames"] += _frames(details)
                g["clips_dataset"] = details.get("n_gen_clips")
            else:
                g["values"].append(float(_get(r, "value")))
                g["frames"] += _frames(details)
        else:
            g["skipped" if status == "skipped" else "error"] += 1
            g["reasons"][_get(r, "reason") or status] += 1
            if failed_as_zero and _get(r, "sample_id") != DATASET:
                g["values"].append(0.0)
    rows = []
    for (model, region, metric, variant), g in groups.items():
        vals = np.asarray(g["values"], dtype=np.float64)
        if g["dataset"] is not None:
            value, lo, hi, n = g["dataset"], math.nan, math.nan, g.get("clips_dataset") or 0
            level = "dataset"
        elif len(vals):
            value = float(vals.mean())
            lo, hi = bootstrap_ci(vals, confidence=ci, n_boot=n_boot, seed=seed)
            n = len(vals)
            level = "sample"
        else:
            value, lo, hi, n, level = math.nan, math.nan, math.nan, 0, "none"
        rows.append({"model": model, "region": region, "metric": metric, "variant": variant, "value": value,
                     "ci_low": lo, "ci_high": hi, "n_clips": int(n), "n_frames": int(g["frames"]),
                     "n_skipped": g["skipped"], "n_error": g["error"],
                     "reason": g["reasons"].most_common(1)[0][0] if g["reasons"] else None,
                     "level": level, "metric_name": g["metric_name"], "label": g["label"]})
    df = pd.DataFrame(rows, columns=["model", "region", "metric", "variant", "value", "ci_low", "ci_high", "n_clips",
                                     "n_frames", "n_skipped", "n_error", "reason", "level", "metric_name", "label"])
    if len(df):
        df["_r"] = df["region"].map(lambda x: REGION_ORDER.index(x) if x in REGION_ORDER else 99)
        df["_m"] = df["metric"].map(_metric_rank)
        df = df.sort_values(["variant", "_r", "_m", "model"]).drop(columns=["_r", "_m"]).reset_index(drop=True)
    return df


def _cell(row) -> str:
    if not np.isfinite(row["value"]):
        return f"n/a ({row['reason']})" if row["reason"] else "n/a"
    v = row["value"]
    s = f"{v:.4g}" if abs(v) < 1000 else f"{v:.1f}"
    if np.isfinite(row["ci_low"]):
        s += f" [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
    return s + f" (n={row['n_clips']}, f={row['n_frames']})"


def wide_table(long, variant: str = "default"):
    """Models × (region, metric) table of formatted cells (value [CI] (n clips, f frames))."""
    import pandas as pd

    d = long[long["variant"] == variant].copy()
    if d.empty:
        return pd.DataFrame()
    d["cell"] = d.apply(_cell, axis=1)
    d["col"] = d.apply(lambda r: f"{REGION_LABEL.get(r['region'], r['region'])} · {r['label']}", axis=1)
    cols = list(dict.fromkeys(d["col"]))
    w = d.pivot_table(index="model", columns="col", values="cell", aggfunc="first")
    return w[[c for c in cols if c in w.columns]]


def to_markdown(long, variant: str = "default") -> str:
    """One Markdown table per region (metrics as columns, models as rows)."""
    d = long[long["variant"] == variant]
    out = [f"# JWB-DH-V1 table ({variant})", "",
           "Cells: mean over clips [95 % bootstrap CI] (n = clips, f = frames used); dataset-level "
           "FID/FVD have no CI. n/a: not computed (reason).", ""]
    for region in [r for r in REGION_ORDER if r in set(d["region"])] + sorted(set(d["region"]) - set(REGION_ORDER)):
        sub = d[d["region"] == region]
        metrics = sorted(set(sub["metric"]), key=_metric_rank)
        labels = dict(zip(sub["metric"], sub["label"]))
        models = list(dict.fromkeys(sub["model"]))
        out.append(f"## {REGION_LABEL.get(region, region)}")
        out.append("")
        out.append("| model | " + " | ".join(labels[m] for m in metrics) + " |")
        out.append("|---" * (len(metrics) + 1) + "|")
        for model in models:
            cells = []
            for m in metrics:
                r = sub[(sub["model"] == model) & (sub["metric"] == m)]
                cells.append(_cell(r.iloc[0]) if len(r) else "")
            out.append(f"| {model} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_tables(long, out_dir: str | os.PathLike[str], stem: str = "jwbdh_table") -> dict[str, Path]:
    """Write ``<stem>.csv`` / ``.parquet`` (long form) and ``<stem>.md`` (+ ``<stem>.compat.md``)."""
    from ..results.store import atomic_write_bytes, atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / f"{stem}.csv", "parquet": out / f"{stem}.parquet", "md": out / f"{stem}.md"}
    atomic_write_text(paths["csv"], long.to_csv(index=False))
    import io

    buf = io.BytesIO()
    long.to_parquet(buf, index=False)
    atomic_write_bytes(paths["parquet"], buf.getvalue())
    atomic_write_text(paths["md"], to_markdown(long, "default"))
    if (long["variant"] != "default").any():
        for v in sorted(set(long["variant"]) - {"default"}):
            p = out / f"{stem}.{v}.md"
            atomic_write_text(p, to_markdown(long, v))
            paths[f"md_{v}"] = p
    return paths


def table_from_run(run_dir: str | os.PathLike[str], **kw) -> dict[str, Path]:
    """Read ``run_dir/records.jsonl`` (and ``run.json``'s metric fields) and write the JWB-DH tables
    next to it."""
    from ..report.metadata import run_metrics_info
    from ..results.store import read_records

    recs = read_records(Path(run_dir) / "records.jsonl")
    kw.setdefault("run_metrics", run_metrics_info(run_dir))
    return write_tables(build_table(recs, **kw), run_dir)
