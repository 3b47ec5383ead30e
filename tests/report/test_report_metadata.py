"""Reports read each metric's direction and units from run.json, not from the installed code."""

from __future__ import annotations

import json

from rich.console import Console

from avatar_eval.metrics.registry import get_metric_class
from avatar_eval.report.build import build_reports
from avatar_eval.report.metadata import metric_metadata
from avatar_eval.report.terminal import show_run
from avatar_eval.results.schema import Record
from avatar_eval.results.store import RecordStore

RECORDED = "syncnet.lse_d"  # registry: lower is better; run.json below says higher
MISSING = "syncnet.lse_c"  # registered (higher is better), not in run.json
UNKNOWN = "zz_report_meta.unregistered"


def _run_dir(tmp_path, metrics_info):
    recs = []
    for model, k in (("gt", 1.0), ("a", 2.0), ("b", 3.0)):
        for name in (RECORDED, MISSING, UNKNOWN):
            recs += [Record(model, f"s{i}", name, "ok", value=k + 0.5 * i) for i in range(3)]
    RecordStore(tmp_path / "records.jsonl").extend(recs)
    if metrics_info is not None:
        (tmp_path / "run.json").write_text(json.dumps({"metrics": metrics_info}))
    return tmp_path


def test_direction_and_units_follow_run_json_not_the_registry(tmp_path):
    assert get_metric_class(RECORDED).higher_is_better is False  # what the installed code says
    info = dict(get_metric_class(RECORDED).info(), higher_is_better=True, units="frames")
    run_dir = _run_dir(tmp_path, {RECORDED: info})

    res = build_reports(run_dir, n_boot=100)

    lb = (run_dir / "leaderboard.md").read_text()
    assert f"{RECORDED} ↑" in lb and f"{RECORDED} ↓" not in lb
    assert f"{MISSING} ↑" in lb and f"{UNKNOWN} ?" in lb
    assert f"Units: {RECORDED}: frames" in lb

    rep = json.loads((run_dir / "report.json").read_text())
    assert rep["metrics"][RECORDED] == {"direction": "higher", "units": "frames", "source": "run.json"}
    assert rep["metrics"][MISSING] == {"direction": "higher", "units": "", "source": "registry"}
    assert rep["metrics"][UNKNOWN] == {"direction": "unknown", "units": "", "source": "unknown"}
    # the fallback is said, naming the metrics it concerns (and only those)
    notes = [w for w in rep["warnings"] if "not recorded in run.json" in w]
    assert len(notes) == 1
    assert MISSING in notes[0] and UNKNOWN in notes[0] and RECORDED not in notes[0]
    assert res.metrics[RECORDED].direction == "higher"

    # `avatar-eval show` reads the same metadata
    con = Console(record=True, width=250)
    show_run(run_dir, con)
    text = con.export_text()
    assert f"{RECORDED} ↑" in text and f"{RECORDED} ↓" not in text


def test_recorded_null_direction_means_closer_to_gt(tmp_path):
    info = dict(get_metric_class(RECORDED).info(), higher_is_better=None)
    run_dir = _run_dir(tmp_path, {RECORDED: info})
    meta, _ = metric_metadata(run_dir, [RECORDED])
    assert meta[RECORDED].direction == "gt" and meta[RECORDED].source == "run.json"
    build_reports(run_dir, n_boot=50)
    assert f"{RECORDED} ≈GT" in (run_dir / "leaderboard.md").read_text()


def test_no_run_json_falls_back_to_the_registry_and_says_so(tmp_path):
    run_dir = _run_dir(tmp_path, None)
    build_reports(run_dir, n_boot=50)
    rep = json.loads((run_dir / "report.json").read_text())
    assert rep["metrics"][RECORDED]["source"] == "registry"
    assert rep["metrics"][RECORDED]["direction"] == "lower"
    assert any("none in the run directory" in w and RECORDED in w for w in rep["warnings"])


def test_run_json_entry_without_direction_falls_back(tmp_path):
    run_dir = _run_dir(tmp_path, {RECORDED: {"name": RECORDED, "version": "1"}})
    meta, warnings = metric_metadata(run_dir, [RECORDED])
    assert meta[RECORDED].source == "registry" and meta[RECORDED].direction == "lower"
    assert warnings and RECORDED in warnings[0]
