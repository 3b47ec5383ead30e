"""Reports state the numeric environment the run was made in (read from run.json)."""

from __future__ import annotations

import json

from avatar_eval.provenance import numeric_environment
from avatar_eval.report.build import build_reports
from avatar_eval.results.schema import Record


def _records():
    return [Record(model=m, sample_id=f"s{i}", metric="jwbdh.psnr", status="ok", value=30.0 + i)
            for m in ("a", "b") for i in range(3)]


def test_leaderboard_and_report_json_name_cpu_path_versions_and_vad(tmp_path):
    env = numeric_environment()
    (tmp_path / "run.json").write_text(json.dumps({
        "environment": env, "vad": {"model": "silero-v5", "sha256": "85c48e1f0ecb604e5d2a"},
        "weights": {"fid_inception": None}}))
    build_reports(tmp_path, _records(), n_boot=200)
    lb = (tmp_path / "leaderboard.md").read_text()
    assert "## Environment" in lb and env["cpu"]["kernel_path"] in lb
    assert "silero-v5" in lb and "85c48e1f0ecb604e" in lb and "fid_inception: not found" in lb
    rep = json.loads((tmp_path / "report.json").read_text())
    assert env["cpu"]["kernel_path"] in rep["environment"]


def test_records_without_run_json_still_report(tmp_path):
    build_reports(tmp_path, _records(), n_boot=200)
    assert "## Environment" not in (tmp_path / "leaderboard.md").read_text()
