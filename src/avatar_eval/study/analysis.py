"""``study analyze``: what people preferred, how consistent they were, and which metrics agree.

Input: the votes (from the study database, or an exported CSV / JSONL) and optionally the run's
``records.jsonl`` plus extra per-model score tables. Output (``write_analysis``):

* ``win_rates.csv``: per dimension × model: wins / ties / losses, win rate = (wins + ½ ties) / n
  with a bootstrap CI (participants resampled), Bradley–Terry log-strength with its CI and rank;
* ``pairwise_<dimension>.csv``: P(row preferred over column);
* ``gsb.csv`` (GSB studies): G / S / B counts and (G + S) / (B + S) per dimension, model and
  opponent (``all`` = pooled over opponents); B + S = 0 gives ``inf`` (G > 0) or empty (no votes);
* ``agreement.csv``: Krippendorff's α (nominal) and pairwise agreement per dimension;
* ``attention.csv``: gold trials per participant, failures, failure rate, excluded or not;
* ``correlation.csv`` / ``table2.md``: for every metric of the run (and every extra score) the
  Spearman ρ between the per-model metric mean and the per-model human win rate, its p-value and
  a bootstrap 95% CI (10,000 resamples of the models by default) — THEval Table 2 layout — plus
  the direction-aligned ρ and a pair-level check (per sample and model pair: metric difference
  vs share of votes);
* ``scatter.png``: metric vs human win rate per model, one panel per metric;
* ``summary.json`` and ``report.md``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results.bootstrap import DEFAULT_N_BOOT
from ..results.schema import DATASET, GT_MODEL, Record
from .stats import (
    bradley_terry,
    gsb_score,
    krippendorff_alpha_nominal,
    pairwise_agreement,
    percentile_ci,
    spearman_with_ci,
    win_rates,
)

SCORE = {"left": 1.0, "same": 0.5, "right": 0.0}


@dataclass
class AnalysisOptions:
    n_boot: int = DEFAULT_N_BOOT  # metric–human ρ CIs (THEval: 10,000)
    n_boot_pairs: int = 1_000  # pair-level ρ CIs
    n_boot_human: int = 1_000  # win-rate and Bradley–Terry CIs (participants resampled)
    max_gold_fail_rate: float = 0.0  # exclude participants failing more than this share
    complete_only: bool = False  # use only participants who finished
    bt_prior: float = 0.5
    seed: int = 0
    level: float = 0.95
    correlation_dimension: str | None = None  # default: the first dimension
    #: metric direction overrides: name -> True (higher better) / False / None (closer to GT)
    directions: dict[str, bool | None] = field(default_factory=dict)


@dataclass
class Analysis:
    protocol: str
    dimensions: list[str]
    models: list[str]
    attention: pd.DataFrame
    excluded: list[str]
    win_rates: pd.DataFrame
    pairwise: dict[str, pd.DataFrame]
    gsb: pd.DataFrame
    agreement: pd.DataFrame
    correlation: pd.DataFrame
    per_model_metrics: pd.DataFrame
    human_dimension: str
    counts: dict[str, Any]
    notes: list[str]


# -- loading ------------------------------------------------------------------------------------
def load_votes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Votes exported by ``study export`` (CSV or JSONL)."""
    p = Path(path)
    if p.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip()]
        return normalise_votes(pd.DataFrame(rows))
    return normalise_votes(pd.read_csv(p, dtype=str, keep_default_na=False))


def normalise_votes(df: pd.DataFrame) -> pd.DataFrame:
    need = ["participant", "trial_id", "kind", "sample_id", "left_model", "right_model",
            "dimension", "answer"]
    if df.empty:
        return pd.DataFrame(columns=need + ["completed", "gold_expected"])
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"votes lack columns {missing}")
    df = df.copy()
    for c in need + ["gold_expected"]:
        if c in df.columns:
            df[c] = df[c].astype(str)
    if "gold_expected" not in df.columns:
        df["gold_expected"] = ""
    if "completed" in df.columns:
        df["completed"] = df["completed"].map(
            lambda v: v if isinstance(v, bool) else str(v).strip().lower() in ("true", "1"))
    else:
        df["completed"] = True
    bad = ~df["answer"].isin(SCORE.keys())
    if bad.any():
        raise ValueError(f"unknown answers: {sorted(df.loc[bad, 'answer'].unique())[:5]}")
    return df


# -- attention checks ---------------------------------------------------------------------------
def attention_table(votes: pd.DataFrame, gold_dimension: str, max_fail_rate: float
                    ) -> pd.DataFrame:
    parts = sorted(votes["participant"].unique()) if len(votes) else []
    g = votes[(votes["kind"] == "gold") & (votes["dimension"] == gold_dimension)]
    n_gold = g.groupby("participant").size().to_dict()
    n_fail = g[g["answer"] != g["gold_expected"]].groupby("participant").size().to_dict()
    rows = []
    for p in parts:
        n = int(n_gold.get(p, 0))
        fails = int(n_fail.get(p, 0))
        rate = fails / n if n else math.nan
        rows.append({"participant": p, "n_gold": n, "n_failed": fails, "fail_rate": rate,
                     "excluded": bool(n and rate > max_fail_rate + 1e-12)})
    return pd.DataFrame(rows, columns=["participant", "n_gold", "n_failed", "fail_rate",
                                       "excluded"])


# -- counts -------------------------------------------------------------------------------------
def participant_matrices(votes: pd.DataFrame, models: Sequence[str]
                         ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per participant: W[p, i, j] wins of i over j (ties ½), N[p, i, j] comparisons."""
    idx = {m: i for i, m in enumerate(models)}
    parts = sorted(votes["participant"].unique())
    pidx = {p: k for k, p in enumerate(parts)}
    n = len(models)
    W = np.zeros((len(parts), n, n))
    N = np.zeros((len(parts), n, n))
    for p, lm, rm, a in votes[["participant", "left_model", "right_model", "answer"]].itertuples(
            index=False):
        if lm not in idx or rm not in idx:
            continue
        k, i, j = pidx[p], idx[lm], idx[rm]
        s = SCORE[a]
        W[k, i, j] += s
        W[k, j, i] += 1 - s
        N[k, i, j] += 1
        N[k, j, i] += 1
    return parts, W, N


def _bootstrap_weights(n_parts: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    if n_parts == 0 or n_boot <= 0:
        return np.zeros((0, n_parts))
    return rng.multinomial(n_parts, np.full(n_parts, 1.0 / n_parts), size=n_boot).astype(float)


def dimension_tables(votes: pd.DataFrame, models: list[str], dim: str, opts: AnalysisOptions,
                     rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    vd = votes[votes["dimension"] == dim]
    parts, Wp, Np = participant_matrices(vd, models)
    W, N = Wp.sum(axis=0), Np.sum(axis=0)
    wr = win_rates(W, N)
    bt = bradley_terry(W, N, prior=opts.bt_prior) if N.sum() else np.full(len(models), np.nan)
    wts = _bootstrap_weights(len(parts), opts.n_boot_human, rng)
    if len(wts):
        Wb = np.einsum("bp,pij->bij", wts, Wp)
        Nb = np.einsum("bp,pij->bij", wts, Np)
        wr_lo, wr_hi = percentile_ci(win_rates(Wb, Nb), opts.level)
        bt_b = bradley_terry(Wb, Nb, prior=opts.bt_prior, prior_mask=N > 0, max_iter=5000,
                             tol=1e-8)
        bt_lo, bt_hi = percentile_ci(bt_b, opts.level)
    else:
        wr_lo = wr_hi = bt_lo = bt_hi = np.full(len(models), np.nan)
    wins = np.zeros(len(models))
    ties = np.zeros(len(models))
    idx = {m: i for i, m in enumerate(models)}
    for lm, rm, a in vd[["left_model", "right_model", "answer"]].itertuples(index=False):
        if lm not in idx or rm not in idx:
            continue
        if a == "same":
            ties[idx[lm]] += 1
            ties[idx[rm]] += 1
        else:
            wins[idx[lm] if a == "left" else idx[rm]] += 1
    n = N.sum(axis=1)
    order = np.argsort(-np.nan_to_num(bt, nan=-np.inf), kind="stable")
    rank = np.empty(len(models), int)
    rank[order] = np.arange(1, len(models) + 1)
    table = pd.DataFrame({
        "dimension": dim, "model": models, "n": n.astype(int), "wins": wins.astype(int),
        "ties": ties.astype(int), "losses": (n - wins - ties).astype(int), "win_rate": wr,
        "win_rate_ci_low": wr_lo, "win_rate_ci_high": wr_hi, "bt_log_strength": bt,
        "bt_ci_low": bt_lo, "bt_ci_high": bt_hi, "bt_rank": rank,
        "n_participants": len(parts),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(N > 0, W / np.where(N > 0, N, 1), np.nan)
    pair = pd.DataFrame(P, index=models, columns=models)
    return table, pair


def gsb_table(votes: pd.DataFrame, models: list[str], dims: list[str],
              target: str | None) -> pd.DataFrame:
    rows = []
    for dim in dims:
        vd = votes[votes["dimension"] == dim]
        cnt: dict[tuple[str, str], list[int]] = {}
        for lm, rm, a in vd[["left_model", "right_model", "answer"]].itertuples(index=False):
            for me, other, my_side in ((lm, rm, "left"), (rm, lm, "right")):
                c = cnt.setdefault((me, other), [0, 0, 0])
                if a == "same":
                    c[1] += 1
                elif a == my_side:
                    c[0] += 1
                else:
                    c[2] += 1
        for m in models:
            opps = [o for o in models if o != m and (m, o) in cnt]
            tot = [0, 0, 0]
            for o in opps:
                g, s, b = cnt[(m, o)]
                tot = [tot[0] + g, tot[1] + s, tot[2] + b]
                rows.append({"dimension": dim, "model": m, "opponent": o, "G": g, "S": s, "B": b,
                             "n": g + s + b, "gsb_score": gsb_score(g, s, b),
                             "is_target": m == target})
            if opps:
                g, s, b = tot
                rows.append({"dimension": dim, "model": m, "opponent": "all", "G": g, "S": s,
                             "B": b, "n": g + s + b, "gsb_score": gsb_score(g, s, b),
                             "is_target": m == target})
    return pd.DataFrame(rows, columns=["dimension", "model", "opponent", "G", "S", "B", "n",
                                       "gsb_score", "is_target"])


def agreement_table(votes: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    rows = []
    for dim in dims:
        vd = votes[votes["dimension"] == dim]
        units: dict[tuple[str, str, str], list[str]] = {}
        for sid, lm, rm, a in vd[["sample_id", "left_model", "right_model", "answer"]].itertuples(
                index=False):
            a_m, b_m = sorted((lm, rm))
            cat = "same" if a == "same" else ("a" if (lm if a == "left" else rm) == a_m else "b")
            units.setdefault((sid, a_m, b_m), []).append(cat)
        multi = [u for u in units.values() if len(u) >= 2]
        rows.append({"dimension": dim, "krippendorff_alpha": krippendorff_alpha_nominal(multi),
                     "pairwise_agreement": pairwise_agreement(multi),
                     "items_rated_twice_or_more": len(multi), "items": len(units),
                     "ratings_on_shared_items": int(sum(len(u) for u in multi))})
    return pd.DataFrame(rows)


# -- metrics from the run -----------------------------------------------------------------------
def _direction(name: str, overrides: dict[str, bool | None]) -> tuple[bool | None, bool, str]:
    """(higher_is_better, known, note)."""
    base = name.split("@")[0]
    for k in (name, base):
        if k in overrides:
            return overrides[k], True, "direction given"
    try:
        from ..errors import UnknownNameError
        from ..metrics.registry import get_metric_class

        try:
            return get_metric_class(base).higher_is_better, True, ""
        except UnknownNameError:
            return None, False, "not a registered metric: direction unknown"
    except Exception as e:  # metric modules are written concurrently; never fail the analysis
        return None, False, f"metric registry unavailable ({type(e).__name__}): direction unknown"


def metric_values(records: Iterable[Record], models: Sequence[str], samples: Sequence[str]
                  ) -> dict[str, dict[str, Any]]:
    """``{metric_key: {"per_model": {m: mean}, "per_sample": {m: {s: v}}, "n": {m: k}}}``.

    Means use ``ok`` records of the study's samples where the model has any, otherwise all its
    samples, otherwise its dataset-level record. ``metric_key`` is ``metric`` or
    ``metric@region`` for regions other than ``full``. GT (model ``gt``) is kept too.
    """
    wanted = set(models) | {GT_MODEL}
    study_samples = set(samples)
    acc: dict[str, dict[str, dict[str, float]]] = {}
    ds: dict[str, dict[str, float]] = {}
    for r in records:
        if r.status != "ok" or r.value is None or r.model not in wanted:
            continue
        key = r.metric if r.region in ("full", "", None) else f"{r.metric}@{r.region}"
        if r.sample_id == DATASET:
            ds.setdefault(key, {})[r.model] = float(r.value)
        else:
            acc.setdefault(key, {}).setdefault(r.model, {})[r.sample_id] = float(r.value)
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(acc) | set(ds)):
        per_model, per_sample, n = {}, {}, {}
        for m in wanted:
            vals = acc.get(key, {}).get(m, {})
            in_study = {s: v for s, v in vals.items() if s in study_samples}
            use = in_study or vals
            if use:
                per_model[m] = float(np.mean(list(use.values())))
                per_sample[m] = use
                n[m] = len(use)
            elif m in ds.get(key, {}):
                per_model[m] = ds[key][m]
                n[m] = 0
        out[key] = {"per_model": per_model, "per_sample": per_sample, "n": n,
                    "level": "dataset" if key in ds and key not in acc else "sample"}
    return out


def _orient(values: dict[str, float], hib: bool | None, gt: float | None
            ) -> dict[str, float] | None:
    if hib is True:
        return dict(values)
    if hib is False:
        return {m: -v for m, v in values.items()}
    if gt is None:
        return None
    return {m: -abs(v - gt) for m, v in values.items()}


def theval_tables(records: list[Record], models: Sequence[str]
                  ) -> tuple[dict[str, dict[str, float]], list[str]]:
    """THEval final and dimension scores per model (``avatar_eval.protocols.theval_score``).

    Returns ``({"THEval final" | "THEval quality" | ...: {model: score}}, notes)``; empty when
    the run has no THEval metric or the scorer is unavailable / refuses (the reason is noted).
    """
    try:
        from ..protocols import theval_score as ts
    except Exception as e:  # written concurrently; the analysis must not depend on it
        return {}, [f"THEval final score unavailable ({type(e).__name__}: {e})"]
    try:
        if ts.detect_variant({r.metric for r in records}) is None:
            return {}, []
        res = ts.theval_score(records, variant="auto",
                              models=[m for m in models if m != GT_MODEL])
    except Exception as e:
        return {}, [f"THEval final score not computed: {e}"]
    out: dict[str, dict[str, float]] = {}
    for col in ("final", *ts.DIMENSIONS):
        vals = {str(m): float(v) for m, v in zip(res.table["model"], res.table[col])
                if v is not None and np.isfinite(v)}
        if vals:
            out[f"THEval {col}"] = vals
    notes = [f"THEval scores ({res.variant} variant; GT from {res.gt_source}): "
             + ", ".join(f"{m}: {n}/{k} metrics" for m, n, k in
                         zip(res.table["model"], res.table["n_used"], res.table["n_slots"]))]
    return out, notes + [f"THEval: {n}" for n in res.notes]


def load_score_table(path: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Per-model scores from a CSV: a ``model`` column and one numeric column per score
    (wide), or long form with columns ``model,name,score``. Higher is taken as better."""
    df = pd.read_csv(path)
    if "model" not in df.columns:
        raise ValueError(f"{path}: needs a 'model' column")
    stem = Path(path).stem
    out: dict[str, dict[str, float]] = {}
    if {"name", "score"} <= set(df.columns):
        for m, n, s in df[["model", "name", "score"]].itertuples(index=False):
            if pd.notna(s):
                out.setdefault(str(n), {})[str(m)] = float(s)
        return out
    for c in df.columns:
        if c == "model" or not pd.api.types.is_numeric_dtype(df[c]):
            continue
        vals = {str(m): float(v) for m, v in zip(df["model"], df[c]) if pd.notna(v)}
        out[c if c not in ("score",) else stem] = vals
    return out


def correlation_table(votes: pd.DataFrame, human: pd.DataFrame, dim: str,
                      metrics: dict[str, dict[str, Any]], extra: dict[str, dict[str, float]],
                      opts: AnalysisOptions) -> pd.DataFrame:
    """Rows in THEval Table 2 layout (one per metric / score)."""
    hd = human[human["dimension"] == dim]
    hwr = {m: w for m, w in zip(hd["model"], hd["win_rate"]) if np.isfinite(w)}
    items = _pair_items(votes[votes["dimension"] == dim])
    rows = []
    for k, (key, info) in enumerate(sorted(metrics.items())):
        hib, known, note = _direction(key, opts.directions)
        per_model = {m: v for m, v in info["per_model"].items() if m in hwr}
        gt = info["per_model"].get(GT_MODEL)
        models = sorted(per_model)
        x = [per_model[m] for m in models]
        y = [hwr[m] for m in models]
        raw = spearman_with_ci(x, y, n_boot=opts.n_boot, seed=opts.seed + k, level=opts.level)
        direction = ("higher" if hib is True else "lower" if hib is False
                     else "closer to GT" if known else "unknown")
        aligned = dict(rho=math.nan, ci_low=math.nan, ci_high=math.nan, p=math.nan)
        if known:
            if hib is True:
                aligned = raw
            elif hib is False:
                aligned = {"rho": -raw["rho"], "ci_low": -raw["ci_high"],
                           "ci_high": -raw["ci_low"], "p": raw["p"]}
            else:
                o = _orient(per_model, None, gt)
                if o is None:
                    note = _join(note, "no GT value: aligned ρ unavailable")
                else:
                    aligned = spearman_with_ci([o[m] for m in models], y, n_boot=opts.n_boot,
                                               seed=opts.seed + k, level=opts.level)
                    note = _join(note, "aligned ρ uses −|m − m_GT|")
        if hib is False:
            note = _join(note, "lower is better: agreement shows as negative ρ")
        pr = _pair_level(items, info.get("per_sample", {}), hib if known else True, known, opts,
                         seed=opts.seed + k)
        if raw["n"] < 3:
            note = _join(note, f"only {raw['n']} model(s) with both values")
        rows.append({"metric": key, "source": "run", "direction": direction,
                     "n_models": raw["n"], "rho": raw["rho"], "p": raw["p"],
                     "ci_low": raw["ci_low"], "ci_high": raw["ci_high"],
                     "rho_aligned": aligned["rho"], "ci_aligned_low": aligned["ci_low"],
                     "ci_aligned_high": aligned["ci_high"], "p_aligned": aligned["p"],
                     "n_boot_valid": raw["n_boot_valid"], **pr, "note": note})
    for k, (key, vals) in enumerate(sorted(extra.items()), start=len(rows)):
        models = sorted(m for m in vals if m in hwr)
        raw = spearman_with_ci([vals[m] for m in models], [hwr[m] for m in models],
                               n_boot=opts.n_boot, seed=opts.seed + k, level=opts.level)
        rows.append({"metric": key,
                     "source": "theval_score" if key.startswith("THEval ") else "scores",
                     "direction": "higher",
                     "n_models": raw["n"], "rho": raw["rho"], "p": raw["p"],
                     "ci_low": raw["ci_low"], "ci_high": raw["ci_high"],
                     "rho_aligned": raw["rho"], "ci_aligned_low": raw["ci_low"],
                     "ci_aligned_high": raw["ci_high"], "p_aligned": raw["p"],
                     "n_boot_valid": raw["n_boot_valid"], "pair_rho": math.nan,
                     "pair_p": math.nan, "pair_ci_low": math.nan, "pair_ci_high": math.nan,
                     "n_pairs": 0, "pair_agreement": math.nan,
                     "note": ("THEval score (higher = better)" if key.startswith("THEval ")
                              else "external per-model score (higher = better)")})
    return pd.DataFrame(rows)


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _pair_items(vd: pd.DataFrame) -> dict[tuple[str, str, str], list[float]]:
    items: dict[tuple[str, str, str], list[float]] = {}
    for sid, lm, rm, a in vd[["sample_id", "left_model", "right_model", "answer"]].itertuples(
            index=False):
        a_m, b_m = sorted((lm, rm))
        s = SCORE[a] if lm == a_m else 1 - SCORE[a]  # preference for a_m
        items.setdefault((sid, a_m, b_m), []).append(s)
    return items


def _pair_level(items: dict[tuple[str, str, str], list[float]],
                per_sample: dict[str, dict[str, float]], hib: bool | None, known: bool,
                opts: AnalysisOptions, seed: int) -> dict[str, Any]:
    diffs, prefs = [], []
    gt = per_sample.get(GT_MODEL, {})
    for (sid, a, b), votes in items.items():
        va, vb = per_sample.get(a, {}).get(sid), per_sample.get(b, {}).get(sid)
        if va is None or vb is None:
            continue
        if hib is None:
            g = gt.get(sid)
            if g is None:
                continue
            d = -abs(va - g) + abs(vb - g)
        else:
            d = (va - vb) if hib else (vb - va)
        diffs.append(d)
        prefs.append(float(np.mean(votes)))
    res = spearman_with_ci(diffs, prefs, n_boot=opts.n_boot_pairs, seed=seed, level=opts.level)
    d, p = np.asarray(diffs), np.asarray(prefs)
    decided = (d != 0) & (p != 0.5) if len(d) else np.zeros(0, bool)
    agree = float(np.mean(np.sign(d[decided]) == np.sign(p[decided] - 0.5))) if decided.any() \
        else math.nan
    return {"pair_rho": res["rho"], "pair_p": res["p"], "pair_ci_low": res["ci_low"],
            "pair_ci_high": res["ci_high"], "n_pairs": len(diffs), "pair_agreement": agree}


# -- the whole analysis -------------------------------------------------------------------------
def analyze_votes(votes: pd.DataFrame, *, protocol: str, dimensions: Sequence[str],
                  gold_dimension: str | None = None, models: Sequence[str] | None = None,
                  samples: Sequence[str] | None = None, target: str | None = None,
                  records: Sequence[Record] | None = None,
                  scores: dict[str, dict[str, float]] | None = None,
                  options: AnalysisOptions | None = None) -> Analysis:
    opts = options or AnalysisOptions()
    votes = normalise_votes(votes)
    dims = list(dimensions)
    gold_dim = gold_dimension or dims[0]
    rng = np.random.default_rng(opts.seed)
    notes: list[str] = []

    att = attention_table(votes, gold_dim, opts.max_gold_fail_rate)
    excluded = sorted(att.loc[att["excluded"], "participant"]) if len(att) else []
    keep = votes[(votes["kind"] == "pair") & ~votes["participant"].isin(excluded)]
    if opts.complete_only:
        keep = keep[keep["completed"]]
    if models is None:
        models = sorted(set(keep["left_model"]) | set(keep["right_model"]))
    models = list(models)
    if samples is None:
        samples = sorted(set(keep["sample_id"]))

    wr_tables, pairwise = [], {}
    for dim in dims:
        t, pm = dimension_tables(keep, models, dim, opts, rng)
        wr_tables.append(t)
        pairwise[dim] = pm
    wr = pd.concat(wr_tables, ignore_index=True) if wr_tables else pd.DataFrame()

    gsb = gsb_table(keep, models, dims, target) if protocol == "gsb" else pd.DataFrame(
        columns=["dimension", "model", "opponent", "G", "S", "B", "n", "gsb_score", "is_target"])
    agr = agreement_table(keep, dims)

    human_dim = opts.correlation_dimension or dims[0]
    if human_dim not in dims:
        raise ValueError(f"correlation dimension {human_dim!r} not in {dims}")
    mvals: dict[str, dict[str, Any]] = {}
    extra: dict[str, dict[str, float]] = {}
    if records is not None:
        records = list(records)
        mvals = metric_values(records, models, samples)
        tv, tv_notes = theval_tables(records, models)
        extra.update(tv)
        notes.extend(tv_notes)
    for name, vals in (scores or {}).items():
        extra[name] = vals
    corr = correlation_table(keep, wr, human_dim, mvals, extra, opts) if (mvals or extra) \
        else pd.DataFrame()
    if records is None and not scores:
        notes.append("no run records / score tables given: metric correlation skipped")

    pm_rows = []
    for key, info in mvals.items():
        for m, v in info["per_model"].items():
            pm_rows.append({"metric": key, "model": m, "value": v, "n_samples": info["n"].get(m)})
    for key, vals in extra.items():
        for m, v in vals.items():
            pm_rows.append({"metric": key, "model": m, "value": v, "n_samples": None})
    per_model = pd.DataFrame(pm_rows, columns=["metric", "model", "value", "n_samples"])

    gold_votes = votes[(votes["kind"] == "gold") & (votes["dimension"] == gold_dim)]
    n_fail = int((gold_votes["answer"] != gold_votes["gold_expected"]).sum())
    counts = {
        "votes": int(len(votes)), "votes_used": int(len(keep)),
        "participants": int(votes["participant"].nunique()) if len(votes) else 0,
        "participants_excluded": len(excluded),
        "participants_used": int(keep["participant"].nunique()) if len(keep) else 0,
        "trials_used": int(keep["trial_id"].nunique()) if len(keep) else 0,
        "gold_judgements": int(len(gold_votes)), "gold_failures": n_fail,
        "gold_failure_rate": (n_fail / len(gold_votes)) if len(gold_votes) else None,
        "participants_failing_any_gold": int((att["n_failed"] > 0).sum()) if len(att) else 0,
    }
    return Analysis(protocol=protocol, dimensions=dims, models=models, attention=att,
                    excluded=excluded, win_rates=wr, pairwise=pairwise, gsb=gsb,
                    agreement=agr, correlation=corr, per_model_metrics=per_model,
                    human_dimension=human_dim, counts=counts, notes=notes)


def analyze_study(study_dir: str | os.PathLike[str], *, db_url: str | None = None,
                  votes_file: str | os.PathLike[str] | None = None,
                  run_dir: str | os.PathLike[str] | None = None,
                  score_files: Sequence[str | os.PathLike[str]] = (),
                  out_dir: str | os.PathLike[str] | None = None,
                  options: AnalysisOptions | None = None, use_run: bool = True) -> Analysis:
    """Analyse a study directory (votes from its database unless ``votes_file`` is given)."""
    from ..results.store import read_records
    from .config import StudyConfig, default_db_url

    cfg = StudyConfig.load(study_dir)
    if votes_file is not None:
        votes = load_votes(votes_file)
    else:
        from .db import Store

        store = Store(cfg, db_url or default_db_url(study_dir))
        try:
            votes = normalise_votes(pd.DataFrame(store.export_rows()))
        finally:
            store.close()
    run = Path(run_dir) if run_dir is not None else (
        Path(cfg.run_dir) if (cfg.run_dir and use_run) else None)
    records = None
    notes = []
    if run is not None:
        rp = run / "records.jsonl" if run.is_dir() else run
        if rp.is_file():
            records = read_records(rp)
        else:
            notes.append(f"{rp} not found: metric correlation skipped")
    scores: dict[str, dict[str, float]] = {}
    for f in score_files:
        scores.update(load_score_table(f))
    res = analyze_votes(votes, protocol=cfg.protocol, dimensions=cfg.dimension_keys,
                        gold_dimension=cfg.gold_dimension, models=cfg.models,
                        samples=cfg.samples, target=cfg.target, records=records,
                        scores=scores, options=options)
    res.notes.extend(notes)
    if out_dir is not None:
        write_analysis(res, out_dir, title=cfg.title)
    return res


# -- output -------------------------------------------------------------------------------------
def _fmt(v: Any, nd: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.{nd}f}"
    return str(v)


def _p(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.2e}" if v < 1e-3 else f"{v:.3f}"


def table2_markdown(corr: pd.DataFrame, dim: str) -> str:
    lines = [f"Spearman ρ between each metric (per-model mean) and human preference "
             f"(per-model win rate, dimension `{dim}`); 95% CI from bootstrap resampling of "
             f"models.", "",
             "| Metric | Better | n | ρ | 95% CI | p | ρ aligned | pair-level ρ (n pairs) "
             "| Note |",
             "|---|---|---:|---:|---|---:|---:|---|---|"]
    for r in corr.to_dict("records"):
        ci = f"[{_fmt(r['ci_low'], 2)}, {_fmt(r['ci_high'], 2)}]"
        pair = f"{_fmt(r['pair_rho'], 2)} ({r['n_pairs']})" if r["n_pairs"] else "–"
        lines.append(f"| {r['metric']} | {r['direction']} | {r['n_models']} | "
                     f"{_fmt(r['rho'])} | {ci} | {_p(r['p'])} | {_fmt(r['rho_aligned'])} | "
                     f"{pair} | {r['note']} |")
    return "\n".join(lines) + "\n"


def _md_table(df: pd.DataFrame, cols: Sequence[str]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df[list(cols)].itertuples(index=False):
        out.append("| " + " | ".join(_fmt(v) for v in r) + " |")
    return "\n".join(out) + "\n"


def scatter_plot(res: Analysis, path: str | os.PathLike[str], max_panels: int = 30) -> Path | None:
    corr = res.correlation
    if corr is None or corr.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hd = res.win_rates[res.win_rates["dimension"] == res.human_dimension]
    hwr = dict(zip(hd["model"], hd["win_rate"]))
    names = list(corr["metric"])[:max_panels]
    ncol = min(4, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.2 * nrow), squeeze=False)
    pm = res.per_model_metrics
    for ax, name in zip(axes.flat, names):
        sub = pm[(pm["metric"] == name) & pm["model"].isin(list(hwr))]
        xs = sub["value"].to_numpy(float)
        ys = np.array([hwr[m] for m in sub["model"]], float)
        ax.scatter(xs, ys, s=28, color="#2456c9", zorder=3)
        for x, y, m in zip(xs, ys, sub["model"]):
            ax.annotate(str(m), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        gt = pm[(pm["metric"] == name) & (pm["model"] == GT_MODEL)]["value"]
        if len(gt) and GT_MODEL not in hwr:
            ax.axvline(float(gt.iloc[0]), color="#999", ls="--", lw=1, label="GT")
        row = corr[corr["metric"] == name].iloc[0]
        ax.set_title(f"{name}\nρ={_fmt(row['rho'], 2)} [{_fmt(row['ci_low'], 2)}, "
                     f"{_fmt(row['ci_high'], 2)}]", fontsize=8)
        ax.set_xlabel(f"metric ({row['direction']} better)", fontsize=7)
        ax.set_ylabel("human win rate", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _json_safe(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        f = float(o)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def write_analysis(res: Analysis, out_dir: str | os.PathLike[str], title: str = "") -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res.win_rates.to_csv(out / "win_rates.csv", index=False)
    for dim, pm in res.pairwise.items():
        pm.to_csv(out / f"pairwise_{dim}.csv")
    if res.protocol == "gsb":
        res.gsb.to_csv(out / "gsb.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    res.agreement.to_csv(out / "agreement.csv", index=False)
    res.attention.to_csv(out / "attention.csv", index=False)
    if not res.correlation.empty:
        res.correlation.to_csv(out / "correlation.csv", index=False)
        (out / "table2.md").write_text(table2_markdown(res.correlation, res.human_dimension),
                                       "utf-8")
        res.per_model_metrics.to_csv(out / "per_model_metrics.csv", index=False)
        scatter_plot(res, out / "scatter.png")
    summary = {
        "protocol": res.protocol, "dimensions": res.dimensions, "models": res.models,
        "counts": res.counts, "excluded_participants": res.excluded, "notes": res.notes,
        "human_dimension": res.human_dimension,
        "win_rates": res.win_rates.to_dict("records"),
        "gsb": res.gsb.to_dict("records"), "agreement": res.agreement.to_dict("records"),
        "correlation": res.correlation.to_dict("records"),
    }
    (out / "summary.json").write_text(json.dumps(_json_safe(summary), indent=2), "utf-8")

    md = [f"# Study analysis{': ' + title if title else ''}", "",
          f"Protocol {res.protocol.upper()}; {res.counts['participants']} participants "
          f"({res.counts['participants_excluded']} excluded by attention checks); "
          f"{res.counts['votes_used']} judgements used.", ""]
    if res.counts["gold_judgements"]:
        md += [f"Attention checks: {res.counts['gold_failures']} / "
               f"{res.counts['gold_judgements']} failed "
               f"({_fmt(res.counts['gold_failure_rate'])}).", ""]
    for dim in res.dimensions:
        t = res.win_rates[res.win_rates["dimension"] == dim].sort_values("bt_rank")
        md += [f"## {dim}", "", _md_table(t, ["model", "n", "wins", "ties", "losses", "win_rate",
                                              "win_rate_ci_low", "win_rate_ci_high",
                                              "bt_log_strength", "bt_ci_low", "bt_ci_high",
                                              "bt_rank"])]
    if res.protocol == "gsb" and not res.gsb.empty:
        md += ["## GSB", "", "(G + S) / (B + S); ∞ when B + S = 0 and G > 0.", "",
               _md_table(res.gsb[res.gsb["opponent"] == "all"],
                         ["dimension", "model", "G", "S", "B", "gsb_score"])]
    md += ["## Inter-rater agreement", "",
           _md_table(res.agreement, ["dimension", "krippendorff_alpha", "pairwise_agreement",
                                     "items_rated_twice_or_more"])]
    if not res.correlation.empty:
        md += ["## Metric–human agreement (THEval Table 2 layout)", "",
               table2_markdown(res.correlation, res.human_dimension), "![scatter](scatter.png)",
               ""]
    if res.notes:
        md += ["## Notes", ""] + [f"- {n}" for n in res.notes]
    (out / "report.md").write_text("\n".join(md) + "\n", "utf-8")
    return out
