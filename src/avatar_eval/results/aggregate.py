"""Per (model, metric, region) aggregates of a run's records, with bootstrap confidence intervals.

:func:`aggregate` turns a list of :class:`~avatar_eval.results.schema.Record` into a tidy
:class:`pandas.DataFrame`, one row per (model, metric, region, level):

* sample-level metrics (``level == "sample"``): ``mean`` and ``std`` (ddof=1) over the ``ok``
  records that hold a number, a percentile-bootstrap CI of the mean (:func:`bootstrap_ci`),
  and the counts ``n_ok`` / ``n_skipped`` / ``n_error``;
* distribution-level metrics (``sample_id == "__dataset__"``, ``level == "dataset"``): the
  record's value passes through as ``mean``; there is no CI (``ci_lo``/``ci_hi`` are NaN).

Skipped and errored records never contribute a number; their reasons are counted in
``skip_reasons`` / ``error_reasons`` (JSON objects ``{"reason": count}``) so reports can say why
clips are missing. When a file holds several records of the same (model, sample, metric, region),
the last one wins, as in :class:`~avatar_eval.results.store.RecordStore`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .bootstrap import DEFAULT_N_BOOT, bootstrap_distribution
from .schema import DATASET, GT_MODEL, Record

__all__ = [
    "SUMMARY_COLUMNS",
    "aggregate",
    "bootstrap_ci",
    "bootstrap_means",
    "dedupe_records",
    "error_reason",
    "model_order",
]

#: the columns of the frame :func:`aggregate` returns, in order
SUMMARY_COLUMNS: tuple[str, ...] = (
    "model",
    "metric",
    "region",
    "level",
    "mean",
    "ci_lo",
    "ci_hi",
    "std",
    "n_ok",
    "n_skipped",
    "n_error",
    "n_nonscalar",
    "n_total",
    "confidence",
    "n_boot",
    "skip_reasons",
    "error_reasons",
    "metric_version",
    "note",
)

def bootstrap_means(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """The bootstrap distribution of the mean: ``n_boot`` means of resamples with replacement."""
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("bootstrap of an empty sample")
    return bootstrap_distribution(x.size, lambda idx: x[idx].mean(axis=1), n_boot=n_boot, seed=seed)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.Generator | None = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of ``values``.

    The interval is the (α/2, 1 − α/2) percentiles (numpy's default linear interpolation, as in
    ``scipy.stats.bootstrap(method="percentile")``) of ``n_boot`` resampled means, α = 1 −
    ``confidence``. With fewer than two values there is no sampling distribution to speak of:
    the result is ``(nan, nan)`` (:func:`aggregate` adds a note saying so).

    >>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0], n_boot=2000, seed=1)
    >>> 1.0 <= lo < 2.5 < hi <= 4.0
    True
    >>> bootstrap_ci([5.0])
    (nan, nan)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(values, dtype=float).ravel()
    if x.size and not np.all(np.isfinite(x)):
        raise ValueError("bootstrap_ci needs finite values")
    if x.size < 2:
        return (math.nan, math.nan)
    means = bootstrap_means(x, n_boot=n_boot, seed=seed)
    alpha = 1.0 - confidence
    lo, hi = np.percentile(means, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return (float(lo), float(hi))


def dedupe_records(records: Iterable[Record]) -> list[Record]:
    """Keep the last record of each (model, sample_id, metric, region), in first-seen order."""
    latest: dict[tuple[str, str, str, str], Record] = {}
    for r in records:
        latest[(r.model, r.sample_id, r.metric, r.region)] = r
    return list(latest.values())


def error_reason(rec: Record) -> str:
    """A short, groupable label for why a skipped / error record has no value.

    ``reason`` when the record has one; otherwise the part of ``message`` before the first
    colon (typically the exception type), cut to 60 characters; otherwise ``"unspecified"``.
    """
    if rec.reason:
        return str(rec.reason)
    if rec.message:
        head = str(rec.message).strip().splitlines()[0] if str(rec.message).strip() else ""
        head = head.split(":", 1)[0].strip()
        if head:
            return head[:60]
    return "unspecified"


def _reasons_json(counter: Counter[str]) -> str:
    return json.dumps(dict(sorted(counter.items())), sort_keys=True)


def model_order(models: Iterable[str]) -> list[str]:
    """Sorted model names with the GT model first."""
    ms = sorted(set(models))
    if GT_MODEL in ms:
        ms.remove(GT_MODEL)
        ms.insert(0, GT_MODEL)
    return ms


def aggregate(
    records: Iterable[Record],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Tidy per (model, metric, region, level) aggregates of ``records``.

    Parameters
    ----------
    records:
        records of a run (duplicates of one (model, sample, metric, region): the last wins).
    n_boot:
        bootstrap resamples for the CI of the mean; ``0`` skips the bootstrap (CI = NaN, noted).
    seed:
        seed of the bootstrap. Every group gets its own generator derived from ``seed`` and the
        group's key, so a group's CI does not change when other groups are added to a run.
        ``None`` draws fresh entropy.
    confidence:
        the CI's coverage (default 0.95).

    Returns a frame with :data:`SUMMARY_COLUMNS`; rows sorted by metric, region, then model with
    the GT model (``"gt"``) first.
    """
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    recs = dedupe_records(records)
    groups: dict[tuple[str, str, str, str], list[Record]] = {}
    for r in recs:
        level = "dataset" if r.sample_id == DATASET else "sample"
        groups.setdefault((r.model, r.metric, r.region, level), []).append(r)

    rows: list[dict[str, object]] = []
    for (model, metric, region, level), rs in groups.items():
        # clip order fixed (by sample id): the bootstrap and the float sums must not depend on the
        # order records reached records.jsonl (parallel workers finish in any order)
        rs = sorted(rs, key=lambda r: r.sample_id)
        ok_vals = [r.value for r in rs if r.status == "ok" and r.value is not None]
        n_nonscalar = sum(1 for r in rs if r.status == "ok" and r.value is None)
        skips = Counter(error_reason(r) for r in rs if r.status == "skipped")
        errors = Counter(error_reason(r) for r in rs if r.status == "error")
        versions = sorted({r.metric_version for r in rs if r.metric_version})
        notes: list[str] = []
        mean = std = lo = hi = math.nan
        x = np.asarray(ok_vals, dtype=float)
        if level == "dataset":
            if x.size:
                mean = float(x[-1])
            notes.append("dataset-level value; no CI")
        elif x.size == 0:
            notes.append("no ok values")
        else:
            mean = float(x.mean())
            if x.size == 1:
                notes.append("n=1: no CI")
            else:
                std = float(x.std(ddof=1))
                if n_boot == 0:
                    notes.append("bootstrap disabled (n_boot=0): no CI")
                else:
                    lo, hi = bootstrap_ci(
                        x, confidence=confidence, n_boot=n_boot, seed=_group_seed(seed, model, metric, region)
                    )
        if len(versions) > 1:
            notes.append(f"mixed metric versions {versions}")
        rows.append(
            {
                "model": model,
                "metric": metric,
                "region": region,
                "level": level,
                "mean": mean,
                "ci_lo": lo,
                "ci_hi": hi,
                "std": std,
                "n_ok": int(x.size),
                "n_skipped": int(sum(skips.values())),
                "n_error": int(sum(errors.values())),
                "n_nonscalar": int(n_nonscalar),
                "n_total": len(rs),
                "confidence": float(confidence),
                "n_boot": int(n_boot) if level == "sample" else 0,
                "skip_reasons": _reasons_json(skips),
                "error_reasons": _reasons_json(errors),
                "metric_version": ",".join(versions),
                "note": "; ".join(notes),
            }
        )

    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if df.empty:
        return df.astype(
            {
                c: "float64"
                for c in ("mean", "ci_lo", "ci_hi", "std", "confidence")
            }
        )
    order = {m: i for i, m in enumerate(model_order(df["model"]))}
    df["_m"] = df["model"].map(order)
    df = df.sort_values(["metric", "region", "level", "_m"], kind="stable").drop(columns="_m")
    return df.reset_index(drop=True)


def _group_seed(seed: int | None, model: str, metric: str, region: str) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng()
    # A stable (not hash()-randomised) per-group entropy: seed + the bytes of the group key.
    key = f"{model}\x1f{metric}\x1f{region}".encode()
    words = [int.from_bytes(key[i : i + 4].ljust(4, b"\0"), "little") for i in range(0, len(key), 4)]
    return np.random.default_rng([int(seed), *words])
