"""``avatar-eval report RUN_DIR``: re-render and re-score a finished run without computing metrics.

One real run (``avatar-eval run``, THEval lip and eyebrow dynamics, paper + compat, on 30-frame
cuts of the shipped clips: GT and the 0.5 s audio-shifted model) is made once; every test works
on a copy of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.metrics.base import Metric, MetricValue
from avatar_eval.metrics.registry import register
from avatar_eval.pipeline.manifest import from_folders
from avatar_eval.pipeline.runner import RunConfig
from avatar_eval.pipeline.runner import run as runner_run
from avatar_eval.testing import variants as V

runner = CliRunner()

METRICS = ["theval.lip_dynamics", "theval.lip_dynamics.compat", "theval.eyebrow_dynamics",
           "theval.eyebrow_dynamics.compat"]
#: what `avatar-eval run` writes besides records.jsonl / run.json (the files `report` must recreate)
REPORT_FILES = ["leaderboard.md", "leaderboard.csv", "summary.csv", "summary.parquet", "records.csv", "records.parquet",
                "theval_scores.csv", "theval_scores.md", "radar.png", "report.json", "report.html"]


@register
class _SizeMetric(Metric):
    """Test metric: reads no frame (a clip costs one probe)."""

    name = "report_cmd_test.size"
    protocol = "report_cmd_test"
    higher_is_better = True
    description = "test: the clip's size in bytes"

    def compute(self, ctx):
        return MetricValue(float(Path(ctx.video_path).stat().st_size))


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def said(res) -> str:
    """The command's output with line wrapping undone."""
    return " ".join(res.output.split())


@pytest.fixture(scope="module")
def clips_30(tmp_path_factory, clips) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("clips30")
    gt, m = d / "gt", d / "m"
    for stem in ("face5", "may"):
        V.first_frames(clips / "gt" / f"{stem}.mp4", gt / f"{stem}.mp4", 30)
        V.first_frames(clips / "audio_shift_0.5s" / f"{stem}.mp4", m / f"{stem}.mp4", 30)
    return gt, m


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, clips_30) -> Path:
    gt, m = clips_30
    out = tmp_path_factory.mktemp("run") / "run"
    args = ["run", "--gt", gt, "--model", f"m={m}", "--out", out, "--no-progress"]
    for n in METRICS:
        args += ["-s", n]
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    for f in REPORT_FILES:
        assert (out / f).is_file(), f
    return out


@pytest.fixture()
def run_copy(finished_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(finished_run, dst)
    return dst


def _snapshot(d: Path) -> dict[str, bytes]:
    return {f: (d / f).read_bytes() for f in REPORT_FILES}


@pytest.fixture()
def no_compute(monkeypatch):
    """Any metric computation (the runner, a clip job, a metric lookup) fails the test."""
    import avatar_eval.pipeline.runner as runner_mod
    from avatar_eval.metrics import registry

    def boom(*a, **k):
        raise AssertionError("a report must not compute or look up metrics")

    for mod, attr in ((runner_mod, "run"), (runner_mod, "process_job"), (registry, "get_metric"),
                      (registry, "get_metric_class")):
        monkeypatch.setattr(mod, attr, boom)


def test_report_recreates_deleted_and_modified_files_identically_without_computing(run_copy, no_compute):
    before = _snapshot(run_copy)
    jsonl = run_copy / "records.jsonl"
    records_bytes, records_mtime = jsonl.read_bytes(), jsonl.stat().st_mtime_ns
    run_json = (run_copy / "run.json").read_bytes()
    for f in ("leaderboard.md", "radar.png", "summary.csv", "summary.parquet", "report.json"):
        (run_copy / f).unlink()
    (run_copy / "theval_scores.md").write_text("stale\n")
    (run_copy / "records.csv").write_text("model\nx\n")

    res = invoke("report", run_copy)
    assert res.exit_code == 0, res.output
    assert "no metric computed" in said(res)
    assert _snapshot(run_copy) == before  # byte for byte, radar.png and parquet included
    # the inputs are untouched: nothing was computed or appended
    assert jsonl.read_bytes() == records_bytes and jsonl.stat().st_mtime_ns == records_mtime
    assert (run_copy / "run.json").read_bytes() == run_json


def test_theval_variant_compat_rescores(run_copy, no_compute):
    paper = _snapshot(run_copy)
    paper_info = json.loads(paper["report.json"])
    assert paper_info["settings"]["theval_variant"] == "paper"
    assert paper_info["theval"]["metrics"]["lip_dynamics"] == "theval.lip_dynamics"

    res = invoke("report", run_copy, "--theval-variant", "compat")
    assert res.exit_code == 0, res.output
    info = json.loads((run_copy / "report.json").read_text())
    assert info["settings"]["theval_variant"] == "compat"
    assert info["theval"]["variant"] == "compat"
    assert info["theval"]["metrics"]["lip_dynamics"] == "theval.lip_dynamics.compat"
    assert info["theval"]["metrics"]["eyebrow_dynamics"] == "theval.eyebrow_dynamics.compat"
    assert info["theval"]["used"]["m"] == paper_info["theval"]["used"]["m"] == ["lip_dynamics", "eyebrow_dynamics"]
    assert info["theval"]["final"]["m"] != pytest.approx(paper_info["theval"]["final"]["m"], abs=1e-9)
    csv = (run_copy / "theval_scores.csv").read_text()
    assert csv != paper["theval_scores.csv"].decode() and "theval.lip_dynamics.compat" in csv
    assert "**compat**" in (run_copy / "theval_scores.md").read_text()
    # the records-only files do not depend on the variant
    for f in ("leaderboard.md", "summary.csv", "records.csv"):
        assert (run_copy / f).read_bytes() == paper[f]

    # a later re-render keeps the last report's settings; --theval-variant paper restores the run's files
    assert invoke("report", run_copy).exit_code == 0
    assert json.loads((run_copy / "report.json").read_text())["settings"]["theval_variant"] == "compat"
    assert invoke("report", run_copy, "--theval-variant", "paper").exit_code == 0
    assert _snapshot(run_copy) == paper


def test_format_selects_files_and_html(run_copy, no_compute):
    before = _snapshot(run_copy)
    (run_copy / "leaderboard.md").unlink()
    res = invoke("report", run_copy, "--format", "md,html")
    assert res.exit_code == 0, res.output
    assert (run_copy / "leaderboard.md").read_bytes() == before["leaderboard.md"]
    page = (run_copy / "report.html").read_text()
    assert "<table>" in page and "theval.lip_dynamics" in page and "data:image/png;base64," in page
    info = json.loads((run_copy / "report.json").read_text())
    assert info["formats"] == ["md", "html"]
    assert "report.html" in info["files"] and "summary.csv" not in info["files"]
    # files of formats not chosen are left alone, and named in a warning
    assert (run_copy / "summary.csv").read_bytes() == before["summary.csv"]
    assert any("not rewritten" in w and "summary.csv" in w for w in info["warnings"])


def test_unknown_run_dir_is_a_clear_error(tmp_path):
    res = invoke("report", tmp_path / "nope")
    assert res.exit_code == 2
    assert "no run directory" in said(res)
    (tmp_path / "empty").mkdir()
    res = invoke("report", tmp_path / "empty")
    assert res.exit_code == 2
    assert "not a run directory" in said(res) and "records.jsonl" in said(res)


def test_bad_options_exit_2(run_copy):
    res = invoke("report", run_copy, "--theval-variant", "papr")
    assert res.exit_code == 2 and "paper, compat, auto" in said(res)
    res = invoke("report", run_copy, "--format", "md,pdf")
    assert res.exit_code == 2 and "pdf" in said(res)
    res = invoke("report", run_copy, "--reference", "no-such-reference")
    assert res.exit_code == 2 and "no-such-reference" in said(res)


def test_runner_writes_no_report_and_cli_no_reports(tmp_path, clips_30):
    gt, m = clips_30
    # the runner computes records and run.json only, whatever RunConfig.reports says
    out = tmp_path / "api"
    store = runner_run(from_folders(gt, {"m": m}),
                       RunConfig(metrics=[_SizeMetric.name], out_dir=str(out), reports=True), progress=False)
    assert len(store.records()) == 4
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["records.jsonl", "run.json"]

    # the CLI builds them after the run, unless --no-reports; `report` writes them later
    out = tmp_path / "cli"
    res = invoke("run", "--gt", gt, "--model", f"m={m}", "-s", _SizeMetric.name, "--out", out, "--no-progress",
                 "--no-reports")
    assert res.exit_code == 0, res.output
    assert f"avatar-eval report {out}" in said(res)
    assert not (out / "leaderboard.md").exists()
    res = invoke("report", out)
    assert res.exit_code == 0, res.output
    for f in ("leaderboard.md", "summary.csv", "records.csv", "report.json"):
        assert (out / f).is_file()
    assert "report_cmd_test.size ↑" in (out / "leaderboard.md").read_text()


def test_theval_missing_rule_is_a_setting_that_persists(run_copy, no_compute):
    assert json.loads((run_copy / "report.json").read_text())["settings"]["theval_missing"] == "worst"
    res = invoke("report", run_copy, "--theval-missing", "drop")
    assert res.exit_code == 0, res.output
    assert json.loads((run_copy / "report.json").read_text())["settings"]["theval_missing"] == "drop"
    assert "missing='drop'" in (run_copy / "theval_scores.md").read_text()
    assert invoke("report", run_copy).exit_code == 0  # a later re-render keeps it
    assert json.loads((run_copy / "report.json").read_text())["settings"]["theval_missing"] == "drop"
    res = invoke("report", run_copy, "--theval-missing", "best")
    assert res.exit_code == 2 and "worst, common, zero, drop" in said(res)
