"""CSV / Parquet / Markdown exports: round trip, atomicity, leaderboard cells."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import avatar_eval.results.export as export
from avatar_eval.metrics.base import Metric
from avatar_eval.metrics.registry import register
from avatar_eval.results.aggregate import aggregate
from avatar_eval.results.export import (
    best_models,
    cell_text,
    export_run,
    leaderboard_frame,
    leaderboard_markdown,
    metric_direction,
    read_table,
    records_frame,
    write_records,
    write_summary,
)
from avatar_eval.results.schema import DATASET, Record


def _temp_files(d):
    return [p.name for p in d.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]


def test_records_round_trip_parquet_equals_csv(tmp_path, theval_run_records):
    recs = theval_run_records + [
        Record("m|x", "s,1", "weird", "ok", value=1 / 3, details={"a": [1, 2], "s": "q\"uote"}, elapsed_s=0.5),
        Record("m|x", "s2", "weird", "skipped", reason="undefined", message="line1\nline2, with comma"),
    ]
    write_records(recs, tmp_path)
    from_csv = read_table(tmp_path / "records.csv")
    from_pq = read_table(tmp_path / "records.parquet")
    pd.testing.assert_frame_equal(from_csv, from_pq)
    pd.testing.assert_frame_equal(from_pq, records_frame(recs))
    # plain pandas reads the parquet with the same values (no custom reader needed)
    raw = pd.read_parquet(tmp_path / "records.parquet")
    assert raw["value"].dtype == "float64" and len(raw) == len(recs)
    w = from_pq[from_pq.metric == "weird"].set_index("sample_id")
    assert json.loads(w.loc["s,1", "details"]) == {"a": [1, 2], "s": "q\"uote"}
    assert w.loc["s,1", "value"] == 1 / 3  # exact float round trip
    assert w.loc["s2", "message"] == "line1\nline2, with comma" and math.isnan(w.loc["s2", "value"])
    assert w.loc["s,1", "reason"] is None


def test_summary_round_trip_parquet_equals_csv(tmp_path, theval_run_records):
    summary = aggregate(theval_run_records, n_boot=500, seed=0)
    write_summary(summary, tmp_path)
    a, b = read_table(tmp_path / "summary.csv"), read_table(tmp_path / "summary.parquet")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(b, export._normalise(summary, export._SUMMARY_SCHEMA))
    assert b["n_ok"].dtype == "int64" and b["mean"].dtype == "float64"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path, theval_run_records, monkeypatch):
    paths = export_run(theval_run_records, tmp_path, n_boot=200)
    assert set(paths) == {
        "summary.csv", "summary.parquet", "records.csv", "records.parquet", "leaderboard.md", "leaderboard.csv",
    }
    assert _temp_files(tmp_path) == []
    before = (tmp_path / "summary.parquet").read_bytes()
    csv_before = (tmp_path / "summary.csv").read_bytes()

    import os

    real_replace = os.replace

    def flaky_replace(src, dst):  # the rename of the parquet file fails (e.g. disk full)
        if str(dst).endswith("summary.parquet"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    extra = theval_run_records + [Record("new", "s0", "psnr", "ok", value=1.0)]
    with pytest.raises(OSError, match="disk full"):
        write_summary(aggregate(extra, n_boot=0), tmp_path)
    assert (tmp_path / "summary.parquet").read_bytes() == before  # old file intact
    assert (tmp_path / "summary.csv").read_bytes() != csv_before  # csv went first, whole
    assert _temp_files(tmp_path) == []


def _board_records():
    recs = [Record("alpha", f"s{i}", "met.up", "ok", value=v) for i, v in enumerate([1.0, 2.0, 3.0])]
    recs += [Record("alpha", "s3", "met.up", "skipped", reason="undefined")]
    recs += [Record("alpha", "s4", "met.up", "skipped", reason="undefined")]
    recs += [Record("alpha", "s5", "met.up", "error", message="InputError: corrupt")]
    recs += [Record("beta", "s0", "met.up", "ok", value=5.0)]
    recs += [Record("gt", "s0", "met.gt", "ok", value=2.0), Record("beta", "s0", "met.gt", "ok", value=2.5)]
    recs += [Record("beta", DATASET, "met.down", "ok", value=12.25)]
    return recs


def test_leaderboard_markdown_cells(tmp_path):
    """Metrics as rows, models as columns (GT first); the best model of a row in bold."""
    summary = aggregate(_board_records(), n_boot=1000, seed=0)
    md = leaderboard_markdown(summary, directions={"met.up": "higher", "met.down": "lower", "met.gt": "gt"})
    lines = md.splitlines()
    header = next(ln for ln in lines if ln.startswith("| metric"))
    assert header == "| metric | gt (GT) | alpha | beta |"
    up = next(ln for ln in lines if ln.startswith("| met.up"))
    r = summary[(summary.model == "alpha") & (summary.metric == "met.up")].iloc[0]
    expected = f"2 [{r.ci_lo:.4g}, {r.ci_hi:.4g}] n=3 [1][2]"
    # beta's 5 beats alpha's 2 on a higher-is-better metric: bold
    assert up == f"| met.up ↑ | — | {expected} | **5 [no CI] n=1** |"
    assert 1.0 <= r.ci_lo < 2.0 < r.ci_hi <= 3.0
    # one model with a value: nothing to compare, no bold; the GT column never wins
    assert next(ln for ln in lines if ln.startswith("| met.gt")) == "| met.gt ≈GT | 2 [no CI] n=1 | — | 2.5 [no CI] n=1 |"
    assert next(ln for ln in lines if ln.startswith("| met.down")) == "| met.down ↓ | — | — | 12.25 (dataset) |"
    assert "1. alpha · met.up: 2 clip(s) skipped (reason: undefined)" in md
    assert "2. alpha · met.up: 1 clip(s) error (reason: InputError)" in md
    assert "↑ higher is better" in md and "≈GT closer to the GT" in md


def test_best_of_a_row_follows_the_direction():
    def row(**means):
        return {m: {"mean": v} for m, v in means.items()}

    assert best_models(row(gt=9.0, a=1.0, b=3.0), "higher") == ("b",)
    assert best_models(row(gt=9.0, a=1.0, b=3.0), "lower") == ("a",)
    assert best_models(row(gt=2.0, a=1.0, b=3.5), "gt") == ("a",)  # |1-2| < |3.5-2|
    assert best_models(row(gt=2.0, a=1.0, b=3.0), "gt") == ("a", "b")  # a tie: both
    assert best_models(row(a=1.0, b=3.0), "gt") == ()  # no GT value: no best
    assert best_models(row(a=1.0, b=3.0), "unknown") == ()
    assert best_models(row(a=1.0, b=math.nan), "higher") == ()  # one value: nothing to compare
    # in a comparison each model is measured against its own run's GT column
    cmp = row(**{"gt (x)": 2.0, "gt (y)": 10.0, "m (x)": 3.0, "m (y)": 10.5})
    assert best_models(cmp, "gt", {"m (x)": "gt (x)", "m (y)": "gt (y)"}) == ("m (y)",)


def test_leaderboard_csv_has_the_markdown_layout(tmp_path):
    summary = aggregate(_board_records(), n_boot=200, seed=0)
    dirs = {"met.up": "higher", "met.down": "lower", "met.gt": "gt"}
    frame = leaderboard_frame(summary, directions=dirs, groups=[("Mine", [("met.up", "full", "sample", "up")])])
    assert list(frame["label"]) == ["up", "met.down", "met.gt"]  # grouped rows first, then the rest
    assert list(frame["section"]) == ["Mine", "Other metrics", "Other metrics"]
    assert list(frame.columns[:8]) == ["section", "metric", "region", "level", "label", "direction", "units", "best"]
    up = frame.iloc[0]
    assert up["best"] == "beta" and up["alpha:mean"] == 2.0 and up["alpha:n"] == 3 and up["beta:n"] == 1
    a = summary[(summary.model == "alpha") & (summary.metric == "met.up")].iloc[0]
    assert (up["alpha:ci_lo"], up["alpha:ci_hi"]) == (a.ci_lo, a.ci_hi)
    export_run(_board_records(), tmp_path, n_boot=200, directions=dirs, formats=["csv"])
    back = read_table(tmp_path / "leaderboard.csv")
    assert list(back["metric"]) == ["met.down", "met.gt", "met.up"] and back["alpha:n"].tolist() == [0, 0, 3]


def test_cell_text_forms():
    base = {"level": "sample", "mean": 0.5, "ci_lo": 0.25, "ci_hi": 0.75, "n_ok": 4}
    assert cell_text(base) == "0.5 [0.25, 0.75] n=4"
    assert cell_text({**base, "mean": math.nan, "n_ok": 0}) == "— n=0"
    assert cell_text({**base, "level": "dataset"}) == "0.5 (dataset)"


class _Up(Metric):
    name = "test_report.direction_up"
    higher_is_better = True


class _Down(Metric):
    name = "test_report.direction_down"
    higher_is_better = False


class _Gt(Metric):
    name = "test_report.direction_gt"
    higher_is_better = None


def test_metric_direction_from_registry():
    for cls in (_Up, _Down, _Gt):
        register(cls)
    assert metric_direction("test_report.direction_up") == "higher"
    assert metric_direction("test_report.direction_down") == "lower"
    assert metric_direction("test_report.direction_gt") == "gt"
    assert metric_direction("test_report.not_a_metric") == "unknown"


def test_leaderboard_marks_unknown_direction():
    summary = aggregate([Record("m", "s0", "test_report.not_a_metric", "ok", value=1.0)], seed=0)
    md = leaderboard_markdown(summary)
    assert "| test_report.not_a_metric ? | 1 [no CI] n=1 |" in md
    assert "? direction unknown" in md
