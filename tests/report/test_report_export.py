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
    cell_text,
    export_run,
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
        "summary.csv", "summary.parquet", "records.csv", "records.parquet", "leaderboard.md",
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
    summary = aggregate(_board_records(), n_boot=1000, seed=0)
    md = leaderboard_markdown(summary, directions={"met.up": "higher", "met.down": "lower", "met.gt": "gt"})
    lines = md.splitlines()
    header = next(ln for ln in lines if ln.startswith("| model"))
    assert header == "| model | met.down ↓ | met.gt ≈GT | met.up ↑ |"
    alpha = next(ln for ln in lines if ln.startswith("| alpha"))
    r = summary[(summary.model == "alpha") & (summary.metric == "met.up")].iloc[0]
    expected = f"2 [{r.ci_lo:.4g}, {r.ci_hi:.4g}] n=3 [1][2]"
    assert alpha == f"| alpha | — | — | {expected} |"
    assert 1.0 <= r.ci_lo < 2.0 < r.ci_hi <= 3.0
    beta = next(ln for ln in lines if ln.startswith("| beta"))
    assert beta == "| beta | 12.25 (dataset) | 2.5 [no CI] n=1 | 5 [no CI] n=1 |"
    assert lines.index(next(ln for ln in lines if ln.startswith("| gt (GT)"))) < lines.index(alpha)
    assert "1. alpha · met.up: 2 clip(s) skipped (reason: undefined)" in md
    assert "2. alpha · met.up: 1 clip(s) error (reason: InputError)" in md
    assert "↑ higher is better" in md and "≈GT closer to the GT" in md


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
    assert "| model | test_report.not_a_metric ? |" in md
    assert "? direction unknown" in md
