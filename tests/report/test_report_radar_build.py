"""radar.png, build_reports and show_run on synthetic runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from avatar_eval.report.build import build_reports
from avatar_eval.report.radar import normalised_metric_frame, radar_chart, radar_png_bytes, theval_radar_frame
from avatar_eval.report.terminal import show_run
from avatar_eval.results.aggregate import aggregate
from avatar_eval.results.schema import Record
from avatar_eval.results.store import RecordStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path, min_bytes=10_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
    assert float(np.std(img[..., :3])) > 0.01  # not a blank canvas
    return img


def test_radar_png_valid_and_non_trivial(tmp_path):
    scores = pd.DataFrame(
        {"a": [0.9, 0.5], "b": [0.8, -0.4], "c": [0.7, 0.6], "d": [0.95, np.nan]}, index=["m1", "m2"]
    )
    p = radar_chart(scores, tmp_path / "radar.png", title="t")
    _check_png(p)
    assert [q.name for q in tmp_path.iterdir()] == ["radar.png"]  # no temp file left


def test_radar_needs_three_axes():
    with pytest.raises(ValueError, match="3 axes"):
        radar_png_bytes(pd.DataFrame({"a": [1.0], "b": [0.5]}, index=["m"]))
    with pytest.raises(ValueError, match="finite"):
        radar_png_bytes(pd.DataFrame({"a": [np.nan], "b": [np.nan], "c": [np.nan]}, index=["m"]))


def test_normalised_metric_frame_hand_computed():
    recs = []
    rows = (("gt", 0.0, 0.0, 10.0), ("a", 1.0, 4.0, 12.0), ("b", 3.0, 2.0, 7.0), ("c", 2.0, 3.0, 10.0))
    for model, up, down, near in rows:
        recs += [Record(model, "s0", "up", "ok", value=up), Record(model, "s0", "down", "ok", value=down),
                 Record(model, "s0", "near", "ok", value=near), Record(model, "s0", "unk", "ok", value=1.0)]
    f = normalised_metric_frame(aggregate(recs, n_boot=0), {"up": "higher", "down": "lower", "near": "gt"})
    assert list(f.index) == ["a", "b", "c"] and "unk" not in f.columns
    np.testing.assert_allclose(f["up"], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(f["down"], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(f["near"], [0.8, 0.7, 1.0])


def test_build_reports_writes_everything(tmp_path, theval_run_records):
    res = build_reports(tmp_path, theval_run_records, n_boot=500)
    expected = {
        "summary.csv", "summary.parquet", "records.csv", "records.parquet", "leaderboard.md", "leaderboard.csv",
        "theval_scores.csv", "theval_scores.md", "radar.png", "report.json", "report.html",
    }
    assert set(res.files) == expected
    assert {p.name for p in tmp_path.iterdir()} == expected  # and no temp files
    _check_png(tmp_path / "radar.png")
    assert res.radar == "theval metrics"
    scores = pd.read_csv(tmp_path / "theval_scores.csv").set_index("model")
    assert set(scores.index) == {"modelA", "modelB"}
    assert scores.loc["modelA", "n_used"] == 8 and scores.loc["modelB", "n_used"] == 7
    assert "lip_sync" in scores.loc["modelB", "missing"] and "undefined" in scores.loc["modelB", "missing"]
    # default 'worst' rule: the missing lip sync enters modelB's final as min(0, modelA's score), flagged;
    # final = mean of the 8 per-metric scores with that penalty (recomputed from the csv)
    per = scores.loc["modelB", [c for c in scores.columns if c.startswith("score.")]].astype(float)
    assert per.isna().sum() == 1 and np.isnan(per["score.lip_sync"])  # no measurement is invented
    penalty = min(0.0, float(scores.loc["modelA", "score.lip_sync"]))
    assert scores.loc["modelB", "penalized"] == f"lip_sync={penalty:.4f}"
    assert scores.loc["modelB", "final"] == pytest.approx(per.fillna(penalty).mean())
    assert scores.loc["modelB", "n_scored"] == 8
    md = (tmp_path / "theval_scores.md").read_text()
    assert "7/8" in md and "run GT clips" in md
    info = json.loads((tmp_path / "report.json").read_text())
    assert info["settings"]["theval_variant"] == "paper" and info["settings"]["n_boot"] == 500
    assert info["theval"]["missing"]["modelB"].keys() == {"lip_sync"}
    lb = (tmp_path / "leaderboard.md").read_text()
    assert "| gt (GT) |" in lb and "(dataset)" in lb and "skipped (reason: undefined)" in lb


def test_build_reports_reads_records_jsonl_and_removes_stale_files(tmp_path, theval_run_records):
    build_reports(tmp_path, theval_run_records, n_boot=100)
    assert (tmp_path / "radar.png").exists()
    store = RecordStore(tmp_path / "records.jsonl")
    store.extend([Record("m", "s0", "psnr", "ok", value=20.0), Record("m", "s1", "psnr", "ok", value=22.0)])
    res = build_reports(tmp_path, n_boot=100)  # no THEval metrics, one metric: no radar
    assert res.theval is None and "no radar chart" in res.radar
    for name in ("radar.png", "theval_scores.csv", "theval_scores.md"):
        assert not (tmp_path / name).exists()
    assert len(pd.read_csv(tmp_path / "records.csv")) == 2


def test_build_reports_radar_from_normalised_metrics(tmp_path):
    from avatar_eval.metrics.base import Metric
    from avatar_eval.metrics.registry import register

    directions = (("test_report.radar_up", True), ("test_report.radar_down", False), ("test_report.radar_gt", None))
    for name, hib in directions:
        register(type(name, (Metric,), {"name": name, "higher_is_better": hib}))
    recs = []
    for model, v in (("gt", 3.0), ("a", 1.0), ("b", 2.0), ("c", 4.0)):
        for metric in ("test_report.radar_up", "test_report.radar_down", "test_report.radar_gt"):
            recs += [Record(model, "s0", metric, "ok", value=v), Record(model, "s1", metric, "ok", value=v + 1)]
    res = build_reports(tmp_path, recs, n_boot=100)
    assert res.radar == "normalised metrics"
    _check_png(tmp_path / "radar.png")
    # unregistered metrics have no known direction: no made-up orientation, no chart
    unknown = [Record(r.model, r.sample_id, r.metric.replace("test_report.", "unregistered."), "ok", value=r.value)
               for r in recs]
    res = build_reports(tmp_path, unknown, n_boot=100)
    assert "no radar chart" in res.radar and not (tmp_path / "radar.png").exists()


def test_build_reports_theval_error_is_reported_not_fatal(tmp_path, theval_run_records):
    res = build_reports(tmp_path, theval_run_records, n_boot=100, reference="theval-official-example")
    assert res.theval is None and "compat" in res.theval_error
    assert (tmp_path / "leaderboard.md").exists() and not (tmp_path / "theval_scores.csv").exists()
    assert "Not computed" in (tmp_path / "theval_scores.md").read_text()
    assert json.loads((tmp_path / "report.json").read_text())["theval_error"]
    from avatar_eval.protocols.theval_score import ReferenceMismatchError

    with pytest.raises(ReferenceMismatchError):
        build_reports(tmp_path, theval_run_records, n_boot=100, reference="theval-official-example", strict=True)


def test_theval_radar_frame_dimensions(theval_run_records):
    from avatar_eval.protocols.theval_score import theval_score

    res = theval_score(theval_run_records)
    dims = theval_radar_frame(res, "dimensions")
    assert list(dims.columns) == ["quality", "naturalness", "synchronization"]
    mets = theval_radar_frame(res, "metrics")
    assert mets.shape == (2, 8) and math.isnan(mets.loc["modelB", "lip sync"])


def test_show_run_prints_leaderboard_and_theval(tmp_path, theval_run_records):
    RecordStore(tmp_path / "records.jsonl").extend(theval_run_records)
    (tmp_path / "run.json").write_text(json.dumps({"package_version": "0.1.0", "config": {"x": 1}}))
    build_reports(tmp_path, n_boot=200)
    console = Console(record=True, width=240)
    show_run(tmp_path, console)
    out = console.export_text()
    assert "package_version: 0.1.0" in out
    assert "Leaderboard" in out and "modelA" in out and "gt (GT)" in out
    assert "THEval scores" in out and "8/8" in out and "7/8" in out
    final = pd.read_csv(tmp_path / "theval_scores.csv").set_index("model").loc["modelA", "final"]
    assert f"{final:.4f}" in out
    # the CI printed is the one in summary.csv (same bootstrap settings from report.json)
    s = pd.read_csv(tmp_path / "summary.csv")
    r = s[(s.model == "modelA") & (s.metric == "psnr")].iloc[0]
    assert f"[{r.ci_lo:.4g}, {r.ci_hi:.4g}]" in out
    assert "skipped (undefined)" in out


def test_show_run_without_records(tmp_path):
    with pytest.raises(FileNotFoundError, match="records.jsonl"):
        show_run(tmp_path, Console(record=True))
