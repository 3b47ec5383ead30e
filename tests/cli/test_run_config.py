"""``avatar-eval run --config FILE --option KEY=VALUE``: settings from a file, checked before any decode."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.metrics.base import Metric, MetricValue
from avatar_eval.metrics.registry import register

runner = CliRunner()


@register
class _OptionEcho(Metric):
    """Test metric: reads no frame; its value is the av_offset window it was given."""

    name = "run_config_test.window"
    protocol = "run_config_test"
    higher_is_better = True
    reads_options = ("av_offset_max_shift",)
    description = "test: the av_offset_max_shift option"

    def compute(self, ctx):
        from avatar_eval.options import SyncOptions, family_options

        return MetricValue(float(family_options(ctx.options, SyncOptions).max_shift))


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def said(res) -> str:
    return " ".join(res.output.split())


def _values(out: Path) -> set[float]:
    return {json.loads(x)["value"] for x in (out / "records.jsonl").read_text().splitlines()}


def test_config_file_sets_suite_and_options_and_the_command_line_wins(tmp_path, clips):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"suite: [{_OptionEcho.name}]\ngt: {clips / 'gt'}\noptions:\n  av_offset_max_shift: 30\n")
    out = tmp_path / "a"
    res = invoke("run", "--config", cfg, "--out", out, "--no-progress", "--no-reports")
    assert res.exit_code == 0, res.output
    assert _values(out) == {30.0}
    conf = json.loads((out / "run.json").read_text())["config"]
    assert conf["options"]["av_offset_max_shift"] == 30 and conf["options"]["vad_model"] == "silero-v5"

    out = tmp_path / "b"
    res = invoke("run", "--config", cfg, "--option", "av_offset_max_shift=20", "--out", out, "--no-progress",
                 "--no-reports")
    assert res.exit_code == 0, res.output
    assert _values(out) == {20.0}

    # a rerun into the same directory with another option value is a changed configuration: refused
    res = invoke("run", "--config", cfg, "--out", tmp_path / "a", "--no-progress", "--no-reports",
                 "--option", "av_offset_max_shift=25")
    assert res.exit_code == 2 and "another configuration" in said(res)
    assert _values(tmp_path / "a") == {30.0}


def test_bad_config_is_refused_before_anything_is_written(tmp_path, clips):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"suite: [{_OptionEcho.name}]\noptions:\n  av_offset_max_shfit: 30\n")
    out = tmp_path / "out"
    res = invoke("run", "--config", cfg, "--gt", clips / "gt", "--out", out, "--no-progress")
    assert res.exit_code == 2 and "did you mean 'av_offset_max_shift'" in said(res)
    res = invoke("run", "-s", _OptionEcho.name, "--gt", clips / "gt", "--out", out, "--no-progress",
                 "--option", "av_offset_max_shift=wide")
    assert res.exit_code == 2 and "takes int" in said(res)
    assert not out.exists()


def test_options_command_lists_the_keys():
    res = runner.invoke(app, ["options"], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    for key in ("vad_model", "av_offset_max_shift", "syncnet_detector", "regions", "pair", "weights"):
        assert key in res.output


def test_default_workers_follow_cores_and_memory(monkeypatch):
    from avatar_eval.cli import main as M

    monkeypatch.setenv("AVATAR_EVAL_WORKERS", "3")
    assert M.default_workers() == (3, "AVATAR_EVAL_WORKERS")
    monkeypatch.delenv("AVATAR_EVAL_WORKERS")
    n, why = M.default_workers()
    import os

    assert 1 <= n <= len(os.sched_getaffinity(0)) and "cores" in why
