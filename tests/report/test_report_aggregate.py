"""aggregate(): counts, means, CIs, dataset pass-through, duplicates, ordering."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from avatar_eval.results.aggregate import SUMMARY_COLUMNS, aggregate, bootstrap_ci, error_reason
from avatar_eval.results.schema import DATASET, Record


def _row(df, model, metric, region="full", level="sample"):
    r = df[(df.model == model) & (df.metric == metric) & (df.region == region) & (df.level == level)]
    assert len(r) == 1, r
    return r.iloc[0]


def _mixed_records():
    vals = [1.0, 2.0, 4.0, 8.0]
    recs = [Record("m1", f"s{i}", "met", "ok", value=v) for i, v in enumerate(vals)]
    recs += [
        Record("m1", "s4", "met", "skipped", reason="undefined", message="no speech"),
        Record("m1", "s5", "met", "skipped", reason="undefined"),
        Record("m1", "s6", "met", "skipped", reason="weights_unavailable", message="file x not found"),
        Record("m1", "s7", "met", "error", message="InputError: cannot decode s7.mp4"),
        Record("m1", "s8", "met", "error", reason="timeout"),
    ]
    return vals, recs


def test_counts_mean_std_with_skipped_and_error():
    vals, recs = _mixed_records()
    df = aggregate(recs, n_boot=2000, seed=0)
    assert list(df.columns) == list(SUMMARY_COLUMNS)
    r = _row(df, "m1", "met")
    assert (r.n_ok, r.n_skipped, r.n_error, r.n_total) == (4, 3, 2, 9)
    assert r["mean"] == pytest.approx(3.75)  # (1 + 2 + 4 + 8) / 4, hand-computed
    assert r["std"] == pytest.approx(np.std(vals, ddof=1))
    assert json.loads(r.skip_reasons) == {"undefined": 2, "weights_unavailable": 1}
    assert json.loads(r.error_reasons) == {"InputError": 1, "timeout": 1}
    assert r.ci_lo < r["mean"] < r.ci_hi
    assert r.level == "sample" and r.n_boot == 2000


def test_error_reason_labels():
    assert error_reason(Record("m", "s", "x", "error", message="ValueError: boom\ntrace")) == "ValueError"
    assert error_reason(Record("m", "s", "x", "skipped", reason="undefined", message="z: y")) == "undefined"
    assert error_reason(Record("m", "s", "x", "error")) == "unspecified"


def test_group_ci_is_bootstrap_ci_of_its_ok_values_and_stable():
    import avatar_eval.results.aggregate as agg

    vals = list(np.random.default_rng(3).normal(5.0, 1.0, size=15))
    recs = [Record("m1", f"s{i}", "met", "ok", value=v) for i, v in enumerate(vals)]
    recs.append(Record("m1", "sx", "met", "skipped", reason="undefined"))
    a = _row(aggregate(recs, n_boot=3000, seed=1), "m1", "met")
    # exactly bootstrap_ci of the ok values (in clip-id order) with the group's generator
    in_order = [v for _, v in sorted((f"s{i}", v) for i, v in enumerate(vals))]
    ref = bootstrap_ci(in_order, n_boot=3000, seed=agg._group_seed(1, "m1", "met", "full"))
    assert (a.ci_lo, a.ci_hi) == ref
    # the order of the records (parallel workers finish in any order) changes nothing
    shuffled = [recs[i] for i in np.random.default_rng(0).permutation(len(recs))]
    s = _row(aggregate(shuffled, n_boot=3000, seed=1), "m1", "met")
    assert (s["mean"], s.ci_lo, s.ci_hi, s["std"]) == (a["mean"], a.ci_lo, a.ci_hi, a["std"])
    # adding another group does not change this group's CI (per-group seeding)
    more = recs + [Record("m2", f"s{i}", "met", "ok", value=float(i)) for i in range(5)]
    b = _row(aggregate(more, n_boot=3000, seed=1), "m1", "met")
    assert (a.ci_lo, a.ci_hi) == (b.ci_lo, b.ci_hi)
    # another seed -> another (close) interval
    c = _row(aggregate(recs, n_boot=3000, seed=2), "m1", "met")
    assert (a.ci_lo, a.ci_hi) != (c.ci_lo, c.ci_hi)
    se = np.std(vals, ddof=1) / np.sqrt(len(vals))
    assert abs(a.ci_lo - c.ci_lo) < 0.2 * se and abs(a.ci_hi - c.ci_hi) < 0.2 * se


def test_single_value_has_nan_ci_and_a_note():
    df = aggregate([Record("m", "s0", "x", "ok", value=0.5)], seed=0)
    r = _row(df, "m", "x")
    assert r["mean"] == 0.5 and math.isnan(r.ci_lo) and math.isnan(r.ci_hi) and math.isnan(r["std"])
    assert "n=1" in r.note


def test_all_skipped_gives_nan_mean_and_counts():
    recs = [Record("m", f"s{i}", "x", "skipped", reason="undefined") for i in range(3)]
    r = _row(aggregate(recs, seed=0), "m", "x")
    assert math.isnan(r["mean"]) and r.n_ok == 0 and r.n_skipped == 3
    assert "no ok values" in r.note


def test_dataset_records_pass_through_without_ci():
    recs = [
        Record("m", DATASET, "fid", "ok", value=12.5),
        Record("gt", DATASET, "fid", "ok", value=0.25),
        Record("m", "s0", "psnr", "ok", value=30.0),
    ]
    df = aggregate(recs, seed=0)
    r = _row(df, "m", "fid", level="dataset")
    assert r["mean"] == 12.5 and math.isnan(r.ci_lo) and math.isnan(r.ci_hi)
    assert r.n_ok == 1 and r.n_boot == 0 and "dataset-level" in r.note
    assert _row(df, "gt", "fid", level="dataset")["mean"] == 0.25


def test_last_record_of_a_key_wins():
    recs = [
        Record("m", "s0", "x", "error", message="RuntimeError: first try"),
        Record("m", "s1", "x", "ok", value=1.0),
        Record("m", "s0", "x", "ok", value=3.0),  # the rerun fixed s0
    ]
    r = _row(aggregate(recs, seed=0), "m", "x")
    assert (r.n_ok, r.n_error, r["mean"]) == (2, 0, 2.0)


def test_regions_are_separate_rows_and_nonscalar_ok_counted():
    recs = [
        Record("m", "s0", "x", "ok", value=1.0, region="face"),
        Record("m", "s0", "x", "ok", value=5.0, region="hands"),
        Record("m", "s1", "x", "ok", value=None, region="face", details={"curve": [1, 2]}),
    ]
    df = aggregate(recs, seed=0)
    assert _row(df, "m", "x", region="face")["mean"] == 1.0
    assert _row(df, "m", "x", region="face").n_nonscalar == 1
    assert _row(df, "m", "x", region="hands")["mean"] == 5.0


def test_gt_first_then_sorted_models():
    recs = [Record(m, "s0", "x", "ok", value=1.0) for m in ("zeta", "gt", "alpha")]
    assert list(aggregate(recs, seed=0).model) == ["gt", "alpha", "zeta"]


def test_n_boot_zero_skips_bootstrap():
    recs = [Record("m", f"s{i}", "x", "ok", value=float(i)) for i in range(4)]
    r = _row(aggregate(recs, n_boot=0), "m", "x")
    assert r["mean"] == 1.5 and math.isnan(r.ci_lo) and "bootstrap disabled" in r.note


def test_empty_input():
    df = aggregate([])
    assert df.empty and list(df.columns) == list(SUMMARY_COLUMNS)
