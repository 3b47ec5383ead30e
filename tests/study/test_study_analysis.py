"""The analysis on synthetic votes with a known ground truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy import stats as sps

from avatar_eval.results.schema import Record
from avatar_eval.study.analysis import (
    AnalysisOptions,
    analyze_votes,
    load_score_table,
    metric_values,
    write_analysis,
)
from avatar_eval.study.stats import (
    bradley_terry,
    bt_loglik,
    gsb_score,
    krippendorff_alpha_nominal,
    pairwise_agreement,
    spearman_with_ci,
)

MODELS = ["alpha", "beta", "gamma", "delta"]
THETA = {"alpha": 1.2, "beta": 0.4, "gamma": -0.3, "delta": -1.3}  # planted strengths
SAMPLES = ["s1", "s2", "s3"]


def synthetic_votes(n_participants=40, trials=12, *, theta=THETA, dims=("realism",),
                    p_same=0.0, gold=2, inattentive=(), seed=0) -> pd.DataFrame:
    """Votes drawn from a Bradley–Terry model; ``inattentive`` participants answer the
    reverse of what they see and fail their gold trials."""
    rng = np.random.default_rng(seed)
    models = list(theta)
    rows = []
    tid = 0
    for k in range(n_participants):
        pid = f"p{k:03d}"
        bad = pid in inattentive
        for t in range(trials + gold):
            tid += 1
            sid = SAMPLES[rng.integers(len(SAMPLES))]
            if t < gold:
                gt_left = rng.random() < 0.5
                exp = "left" if gt_left else "right"
                ans = ("right" if exp == "left" else "left") if bad else exp
                for d in dims:
                    rows.append(dict(participant=pid, trial_id=tid, kind="gold", sample_id=sid,
                                     left_model="gt" if gt_left else "gt_degraded",
                                     right_model="gt_degraded" if gt_left else "gt",
                                     dimension=d, answer=ans, gold_expected=exp, completed=True))
                continue
            a, b = rng.choice(len(models), size=2, replace=False)
            lm, rm = models[a], models[b]
            for d in dims:
                if p_same and rng.random() < p_same:
                    ans = "same"
                else:
                    pl = 1 / (1 + math.exp(-(theta[lm] - theta[rm])))
                    ans = "left" if rng.random() < pl else "right"
                    if bad:
                        ans = "right" if ans == "left" else "left"
                rows.append(dict(participant=pid, trial_id=tid, kind="pair", sample_id=sid,
                                 left_model=lm, right_model=rm, dimension=d, answer=ans,
                                 gold_expected="", completed=True))
    return pd.DataFrame(rows)


def _records(values: dict[str, dict[str, float]], samples=SAMPLES) -> list[Record]:
    recs = []
    for metric, per_model in values.items():
        for m, v in per_model.items():
            for j, s in enumerate(samples):
                recs.append(Record(m, s, metric, "ok", v + 0.01 * (j - 1)))
            recs.append(Record(m, "s_bad", metric, "skipped", None, reason="undefined"))
    return recs


# -- Bradley–Terry ----------------------------------------------------------------------------
def test_planted_preference_order_is_recovered():
    votes = synthetic_votes(n_participants=60, trials=20, seed=1)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        options=AnalysisOptions(n_boot_human=300))
    wr = res.win_rates.set_index("model")
    assert list(wr.sort_values("bt_rank").index) == MODELS
    assert list(wr.sort_values("win_rate", ascending=False).index) == MODELS
    truth = np.array([THETA[m] for m in MODELS])
    truth -= truth.mean()
    est = wr.loc[MODELS, "bt_log_strength"].to_numpy()
    assert np.max(np.abs(est - truth)) < 0.3
    # the CIs cover the truth and are ordered
    lo, hi = wr.loc[MODELS, "bt_ci_low"].to_numpy(), wr.loc[MODELS, "bt_ci_high"].to_numpy()
    assert np.all(lo < est) and np.all(est < hi)
    assert np.all((lo - 0.05 < truth) & (truth < hi + 0.05))
    # counts are consistent
    assert (wr["wins"] + wr["ties"] + wr["losses"] == wr["n"]).all()
    assert wr["n"].sum() == 2 * len(votes[votes["kind"] == "pair"])
    assert np.allclose(wr["win_rate"], wr["wins"] / wr["n"])


def test_bradley_terry_mm_equals_maximum_likelihood():
    rng = np.random.default_rng(3)
    n = 5
    N = rng.integers(3, 30, size=(n, n)).astype(float)
    N = np.triu(N, 1)
    N = N + N.T
    th = rng.normal(size=n)
    P = 1 / (1 + np.exp(-(th[:, None] - th[None, :])))
    W = np.triu(rng.binomial(N.astype(int), P).astype(float), 1)
    W = W + np.triu(N - W, 1).T  # j's wins over i = comparisons − i's wins
    mm = bradley_terry(W, N, prior=0.0, tol=1e-13)

    def nll(x):
        t = np.concatenate([[0.0], x])
        return -bt_loglik(t, W, N)

    opt = optimize.minimize(nll, np.zeros(n - 1), method="BFGS", options={"gtol": 1e-10})
    mle = np.concatenate([[0.0], opt.x])
    mle -= mle.mean()
    assert np.allclose(mm, mle, atol=1e-5)
    # batched fitting gives the same answer per replicate
    batch = bradley_terry(np.stack([W, W.T]), np.stack([N, N]), prior=0.0, tol=1e-13)
    assert np.allclose(batch[0], mm, atol=1e-8) and np.allclose(batch[1], -mm, atol=1e-6)


def test_bradley_terry_perfect_separation_stays_finite():
    W = np.array([[0, 10.0], [0, 0]])
    N = np.array([[0, 10.0], [10, 0]])
    assert np.all(np.isfinite(bradley_terry(W, N, prior=0.5)))
    est = bradley_terry(W, N, prior=0.5)
    assert est[0] > est[1]


# -- GSB --------------------------------------------------------------------------------------
def test_gsb_scores_and_the_b_plus_s_zero_case():
    assert gsb_score(6, 2, 2) == pytest.approx(8 / 4)
    assert gsb_score(3, 0, 0) == math.inf
    assert math.isnan(gsb_score(0, 0, 0))
    assert gsb_score(0, 0, 5) == 0.0
    rows = []
    # target "alpha" vs beta on "overall": alpha chosen 5×, same 3×, beta chosen 2×
    plan = [("alpha", "beta", "left")] * 3 + [("beta", "alpha", "right")] * 2 \
        + [("alpha", "beta", "same")] * 2 + [("beta", "alpha", "same")] \
        + [("alpha", "beta", "right")] + [("beta", "alpha", "left")]
    # alpha vs gamma: alpha always better (B + S = 0)
    plan += [("gamma", "alpha", "right")] * 4
    for i, (lm, rm, a) in enumerate(plan):
        rows.append(dict(participant=f"p{i % 3}", trial_id=i + 1, kind="pair", sample_id="s1",
                         left_model=lm, right_model=rm, dimension="overall", answer=a,
                         gold_expected="", completed=True))
    res = analyze_votes(pd.DataFrame(rows), protocol="gsb", dimensions=["overall"],
                        models=["alpha", "beta", "gamma"], target="alpha",
                        options=AnalysisOptions(n_boot_human=50))
    g = res.gsb.set_index(["model", "opponent"])
    ab = g.loc[("alpha", "beta")]
    assert (ab["G"], ab["S"], ab["B"]) == (5, 3, 2)
    assert ab["gsb_score"] == pytest.approx((5 + 3) / (2 + 3))
    ba = g.loc[("beta", "alpha")]
    assert (ba["G"], ba["S"], ba["B"]) == (2, 3, 5)
    ag = g.loc[("alpha", "gamma")]
    assert (ag["G"], ag["S"], ag["B"]) == (4, 0, 0) and ag["gsb_score"] == math.inf
    assert g.loc[("gamma", "alpha"), "gsb_score"] == 0.0
    pooled = g.loc[("alpha", "all")]
    assert (pooled["G"], pooled["S"], pooled["B"]) == (9, 3, 2)
    assert bool(pooled["is_target"])
    # ties count half in the win rate
    wr = res.win_rates.set_index("model")
    assert wr.loc["alpha", "win_rate"] == pytest.approx((9 + 0.5 * 3) / 14)
    assert (wr.loc["alpha", "wins"], wr.loc["alpha", "ties"], wr.loc["alpha", "losses"]) == \
        (9, 3, 2)


# -- attention checks -------------------------------------------------------------------------
def test_attention_failures_are_excluded_and_reported():
    bad = {f"p{k:03d}" for k in range(0, 40, 3)}  # 14 of 40 answer in reverse
    votes = synthetic_votes(n_participants=40, trials=12, gold=2, inattentive=bad, seed=2)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        options=AnalysisOptions(n_boot_human=100))
    assert set(res.excluded) == bad
    att = res.attention.set_index("participant")
    assert (att.loc[sorted(bad), "fail_rate"] == 1.0).all()
    assert res.counts["gold_failures"] == 2 * len(bad)
    assert res.counts["gold_failure_rate"] == pytest.approx(2 * len(bad) / 80)
    assert res.counts["participants_used"] == 40 - len(bad)
    assert set(res.win_rates["n_participants"]) == {40 - len(bad)}
    order = list(res.win_rates.sort_values("bt_rank")["model"])
    assert order == MODELS
    # keeping everyone counts the reversed votes too
    keep_all = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                             options=AnalysisOptions(n_boot_human=0, max_gold_fail_rate=1.0))
    assert keep_all.excluded == []
    assert keep_all.win_rates["n"].sum() > res.win_rates["n"].sum()
    a_all = keep_all.win_rates.set_index("model").loc["alpha", "win_rate"]
    a_clean = res.win_rates.set_index("model").loc["alpha", "win_rate"]
    assert a_all < a_clean


# -- agreement --------------------------------------------------------------------------------
def test_krippendorff_alpha_matches_the_published_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example:
    # 4 observers, 12 units, missing values; alpha = 0.743
    obs = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[o[u] for o in obs if o[u] is not None] for u in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b", "b"]]) == 1.0
    assert math.isnan(krippendorff_alpha_nominal([["a", "a"], ["a"]]))
    assert pairwise_agreement([["a", "a", "b"], ["b", "b"]]) == pytest.approx((1 / 3 + 1) / 2)


def test_agreement_is_high_for_consistent_raters_and_low_for_coin_flips():
    strong = {m: 3 * v for m, v in THETA.items()}
    consistent = synthetic_votes(n_participants=30, trials=30, theta=strong, gold=0, seed=4)
    flat = {m: 0.0 for m in THETA}
    random_ = synthetic_votes(n_participants=30, trials=30, theta=flat, gold=0, seed=5)
    a1 = analyze_votes(consistent, protocol="2afc", dimensions=["realism"],
                       options=AnalysisOptions(n_boot_human=0)).agreement.iloc[0]
    a2 = analyze_votes(random_, protocol="2afc", dimensions=["realism"],
                       options=AnalysisOptions(n_boot_human=0)).agreement.iloc[0]
    assert a1["items_rated_twice_or_more"] == 18  # 3 samples x 6 model pairs
    assert a1["krippendorff_alpha"] > 0.4 and abs(a2["krippendorff_alpha"]) < 0.15
    assert a1["pairwise_agreement"] > a2["pairwise_agreement"]


# -- metric–human correlation -----------------------------------------------------------------
METRIC_VALUES = {
    "m.up": {"alpha": 4.0, "beta": 3.0, "gamma": 2.2, "delta": 1.0, "gt": 5.0},
    "m.down": {"alpha": 0.1, "beta": 0.2, "gamma": 0.3, "delta": 0.4, "gt": 0.0},
    "m.closer": {"alpha": 1.05, "beta": 0.8, "gamma": 1.6, "delta": 2.5, "gt": 1.0},
    "m.noise": {"alpha": 0.3, "beta": 0.9, "gamma": 0.1, "delta": 0.5, "gt": 0.4},
}
DIRS = {"m.up": True, "m.down": False, "m.closer": None}


def _avg_ranks(v):
    """1-based ranks, ties get their average rank (plain Python, for the reference)."""
    v = list(v)
    return [sum(1 for u in v if u < a) + (sum(1 for u in v if u == a) + 1) / 2 for a in v]


def _bootstrap_reference(x, y, n_boot, seed):
    """An independent (loop) bootstrap on the same resample indices: Pearson of 1-D ranks."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    vals = []
    for row in idx:
        xs, ys = np.asarray(x)[row], np.asarray(y)[row]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        vals.append(np.corrcoef(_avg_ranks(xs), _avg_ranks(ys))[0, 1])
    return np.quantile(vals, [0.025, 0.975])


def test_metric_human_spearman_matches_scipy_and_respects_direction():
    votes = synthetic_votes(n_participants=50, trials=16, seed=6)
    opts = AnalysisOptions(n_boot=2000, n_boot_human=0, directions=DIRS, seed=11)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        samples=SAMPLES, records=_records(METRIC_VALUES), options=opts)
    corr = res.correlation.set_index("metric")
    assert set(corr.index) == set(METRIC_VALUES)
    wr = res.win_rates.set_index("model")["win_rate"]
    pm = res.per_model_metrics
    for k, name in enumerate(sorted(METRIC_VALUES)):
        row = corr.loc[name]
        vals = pm[pm["metric"] == name].set_index("model")["value"]
        # per-model means are the plain means of the ok records (the skipped ones ignored)
        for m in MODELS:
            assert vals[m] == pytest.approx(METRIC_VALUES[name][m])
        x = [vals[m] for m in sorted(MODELS)]
        y = [wr[m] for m in sorted(MODELS)]
        ref = sps.spearmanr(x, y)
        assert row["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert row["p"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert row["n_models"] == 4
        lo, hi = _bootstrap_reference(x, y, 2000, opts.seed + k)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert corr.loc["m.up", "rho"] == pytest.approx(1.0)
    assert corr.loc["m.down", "rho"] == pytest.approx(-1.0)  # signed as given ...
    assert corr.loc["m.down", "rho_aligned"] == pytest.approx(1.0)  # ... and aligned
    assert "lower is better" in corr.loc["m.down", "note"]
    # closer-to-GT: raw values are not monotone in quality, |m − m_GT| is
    assert corr.loc["m.closer", "rho"] < 0.9
    assert corr.loc["m.closer", "rho_aligned"] == pytest.approx(1.0)
    assert corr.loc["m.closer", "direction"] == "closer to GT"
    assert corr.loc["m.noise", "direction"] == "unknown"
    assert "direction unknown" in corr.loc["m.noise", "note"]
    # pair level: the metric difference agrees with the majority vote per sample and pair
    assert corr.loc["m.up", "pair_agreement"] > 0.7
    assert corr.loc["m.up", "n_pairs"] > 12 and corr.loc["m.up", "pair_rho"] > 0.3


def test_spearman_ci_edge_cases():
    out = spearman_with_ci([1, 2], [2, 1], n_boot=100)
    assert math.isnan(out["rho"]) and out["n"] == 2
    out = spearman_with_ci([1, 1, 1, 1], [1, 2, 3, 4], n_boot=100)
    assert math.isnan(out["rho"])
    out = spearman_with_ci([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], n_boot=500, seed=1)
    assert out["ci_low"] <= out["rho"] <= out["ci_high"] <= 1.0
    assert 0 < out["n_boot_valid"] <= 500


def test_direction_comes_from_the_metric_registry(monkeypatch):
    from avatar_eval.metrics import registry
    from avatar_eval.metrics.base import Metric

    class Lower(Metric):
        name = "test.study.lower_is_better"
        higher_is_better = False

    class Closer(Metric):
        name = "test.study.closer_to_gt"
        higher_is_better = None

    monkeypatch.setattr(registry, "_loaded", True)  # do not import the real metric modules
    monkeypatch.setitem(registry._METRICS, Lower.name, Lower)
    monkeypatch.setitem(registry._METRICS, Closer.name, Closer)
    vals = {Lower.name: METRIC_VALUES["m.down"], Closer.name: METRIC_VALUES["m.closer"]}
    votes = synthetic_votes(n_participants=30, trials=12, seed=7)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        records=_records(vals), options=AnalysisOptions(n_boot=200,
                                                                        n_boot_human=0))
    corr = res.correlation.set_index("metric")
    assert corr.loc[Lower.name, "direction"] == "lower"
    assert corr.loc[Lower.name, "rho_aligned"] == pytest.approx(-corr.loc[Lower.name, "rho"])
    assert corr.loc[Closer.name, "direction"] == "closer to GT"
    assert corr.loc[Closer.name, "rho_aligned"] == pytest.approx(1.0)


def test_metric_values_per_sample_dataset_and_regions():
    recs = [Record("alpha", "s1", "m", "ok", 1.0), Record("alpha", "s2", "m", "ok", 3.0),
            Record("alpha", "s9", "m", "ok", 100.0),  # not a study sample: ignored
            Record("beta", "s9", "m", "ok", 7.0),  # no study sample: falls back to all
            Record("alpha", "s1", "m", "error", None, message="boom"),
            Record("alpha", "__dataset__", "fid", "ok", 12.0),
            Record("alpha", "s1", "m", "ok", 5.0, region="face"),
            Record("other", "s1", "m", "ok", 9.0)]
    mv = metric_values(recs, ["alpha", "beta"], ["s1", "s2"])
    assert mv["m"]["per_model"] == {"alpha": 2.0, "beta": 7.0}
    assert mv["fid"]["per_model"] == {"alpha": 12.0} and mv["fid"]["level"] == "dataset"
    assert mv["m@face"]["per_model"] == {"alpha": 5.0}


def test_extra_score_tables(tmp_path):
    wide = tmp_path / "theval_scores.csv"
    wide.write_text("model,final,lip\nalpha,0.9,0.1\nbeta,0.8,0.2\ngamma,0.7,0.4\n"
                    "delta,0.5,0.3\n")
    long = tmp_path / "long.csv"
    long.write_text("model,name,score\nalpha,judge,3\nbeta,judge,4\ngamma,judge,2\n"
                    "delta,judge,1\n")
    scores = {**load_score_table(wide), **load_score_table(long)}
    assert set(scores) == {"final", "lip", "judge"}
    votes = synthetic_votes(n_participants=40, trials=12, seed=8)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        records=_records({"m.up": METRIC_VALUES["m.up"]}), scores=scores,
                        options=AnalysisOptions(n_boot=300, n_boot_human=0, directions=DIRS))
    corr = res.correlation.set_index("metric")
    assert {"final", "lip", "judge", "m.up"} <= set(corr.index)
    wr = res.win_rates.set_index("model")["win_rate"]
    ref = sps.spearmanr([scores["judge"][m] for m in MODELS], [wr[m] for m in MODELS])
    assert corr.loc["judge", "rho"] == pytest.approx(ref.statistic)
    assert corr.loc["final", "rho"] == pytest.approx(1.0)
    assert corr.loc["final", "source"] == "scores"


def test_theval_final_and_dimension_scores_are_correlated():
    ts = pytest.importorskip("avatar_eval.protocols.theval_score")
    slots = ts.slot_metrics("paper")
    off = {"alpha": 0.05, "beta": 0.1, "gamma": 0.3, "delta": 0.6}  # distance to GT
    values = {metric: {**{m: 1.0 + d for m, d in off.items()}, "gt": 1.0}
              for metric in slots.values()}
    recs = _records(values)
    votes = synthetic_votes(n_participants=60, trials=16, seed=12)
    res = analyze_votes(votes, protocol="2afc", dimensions=["realism"], models=MODELS,
                        samples=SAMPLES, records=recs,
                        options=AnalysisOptions(n_boot=300, n_boot_human=0))
    corr = res.correlation.set_index("metric")
    names = {"THEval final", "THEval quality", "THEval naturalness", "THEval synchronization"}
    assert names <= set(corr.index)
    final = ts.theval_score(recs, variant="paper", models=MODELS).final_scores()
    wr = res.win_rates.set_index("model")["win_rate"]
    ref = sps.spearmanr([final[m] for m in MODELS], [wr[m] for m in MODELS])
    assert corr.loc["THEval final", "rho"] == pytest.approx(ref.statistic)
    assert corr.loc["THEval final", "p"] == pytest.approx(ref.pvalue)
    assert corr.loc["THEval final", "source"] == "theval_score"
    # every THEval metric is "closer to GT": its aligned rho equals the final score's
    lip = corr.loc[slots["lip_dynamics"]]
    assert lip["direction"] == "closer to GT"
    assert lip["rho_aligned"] == pytest.approx(ref.statistic)
    assert any("THEval scores" in n for n in res.notes)


def test_written_outputs(tmp_path):
    votes = synthetic_votes(n_participants=30, trials=12, dims=("overall", "lip_sync"),
                            p_same=0.2, seed=9)
    res = analyze_votes(votes, protocol="gsb", dimensions=["overall", "lip_sync"], models=MODELS,
                        records=_records(METRIC_VALUES),
                        options=AnalysisOptions(n_boot=500, n_boot_human=100, directions=DIRS))
    out = write_analysis(res, tmp_path / "an", title="t")
    names = {p.name for p in out.iterdir()}
    assert {"win_rates.csv", "gsb.csv", "agreement.csv", "attention.csv", "correlation.csv",
            "table2.md", "scatter.png", "summary.json", "report.md", "pairwise_overall.csv",
            "pairwise_lip_sync.csv", "per_model_metrics.csv"} <= names
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG"
    t2 = (out / "table2.md").read_text()
    assert "| Metric |" in t2 and "m.up" in t2 and "95% CI" in t2
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["protocol"] == "gsb" and len(summary["win_rates"]) == 8
    pw = pd.read_csv(out / "pairwise_overall.csv", index_col=0)
    assert pw.loc["alpha", "delta"] + pw.loc["delta", "alpha"] == pytest.approx(1.0)
