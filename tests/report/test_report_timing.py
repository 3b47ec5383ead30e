"""Reports show where a run's time went (issue 14), from run.json's ``last_run``."""

from __future__ import annotations

import json

import pytest

from avatar_eval.report.build import build_reports
from avatar_eval.report.timing import run_timing, timing_markdown
from avatar_eval.results.schema import Record

LAST = {"wall_s": 10.0, "clips": 2, "frames": 200,
        "timings_s": {"decode": 1.0, "face_mesh": 6.0, "metric:theval.lip_dynamics": 0.5, "vad": 2.0,
                      "job_other": 0.0001, "total": 9.5, "decode_passes": 2},
        "main_s": {"plan": 0.2, "run_json": 0.1}, "worker_startup_s": {"vm:1": 0.3}}


def test_stages_largest_first_with_share_and_frames_per_second():
    rt = run_timing(LAST)
    assert rt is not None
    assert [s.name for s in rt.stages] == ["face_mesh", "vad", "decode", "metric:theval.lip_dynamics"]
    face = rt.stages[0]
    assert face.seconds == 6.0 and face.share == pytest.approx(6.0 / 9.5) and face.frames_per_s == pytest.approx(200 / 6)
    assert rt.frames_per_s == pytest.approx(20.0) and rt.decode_passes == 2
    md = timing_markdown(LAST)
    assert "| face_mesh | 6.000 | 63.2% | 33.3 |" in md and "total" not in md and "job_other" not in md
    assert "plan 0.200 s" in md and "vm:1 0.30 s" in md
    assert run_timing(None) is None and timing_markdown({"wall_s": 1.0}) == ""


def test_leaderboard_and_html_have_the_section(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"last_run": LAST}))
    recs = [Record(model=m, sample_id=f"s{i}", metric="jwbdh.psnr", status="ok", value=30.0 + i)
            for m in ("a", "b") for i in range(3)]
    build_reports(tmp_path, recs, n_boot=50, formats="md,html")
    assert "## Where the time went" in (tmp_path / "leaderboard.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "Where the time went: 2 clips, 200 frames" in html and "<td>face_mesh</td><td>6.000</td>" in html


def test_no_section_without_timings(tmp_path):
    recs = [Record(model="a", sample_id="s0", metric="jwbdh.psnr", status="ok", value=30.0)]
    build_reports(tmp_path, recs, n_boot=50, formats="md,html")
    assert "Where the time went" not in (tmp_path / "leaderboard.md").read_text()
    assert "Where the time went" not in (tmp_path / "report.html").read_text()
