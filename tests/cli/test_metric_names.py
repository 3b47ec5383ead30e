"""The naming grammar and its deprecated aliases (issue 11).

* every registered metric of the package is ``metric_name(family, quantity, region, variant)`` of
  its fields, and ``register`` refuses a class whose name is not;
* every deprecated alias resolves to a registered metric; old names warn and give the new one;
* a run with OLD names on the command line records the NEW names, with values identical to a run
  with the new names (benchmarks/records_diff.py through the alias table);
* ``avatar-eval report`` on a run directory written with old names renders under the new names.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.metrics.base import Metric
from avatar_eval.metrics.naming import FAMILIES, REGIONS, VARIANTS, is_package_metric, metric_fields, metric_name
from avatar_eval.metrics.registry import (
    DEPRECATED_NAMES,
    get_metric_class,
    is_registered,
    list_metrics,
    register,
    resolve_metrics,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _records_diff():
    spec = importlib.util.spec_from_file_location("records_diff", ROOT / "benchmarks" / "records_diff.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault("records_diff", mod)  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_every_package_metric_is_named_by_its_fields():
    ms = [m for m in list_metrics() if is_package_metric(m)]
    assert len(ms) > 150
    for m in ms:
        assert m.family in FAMILIES, m.name
        assert m.region == "full" or m.region in REGIONS, m.name
        assert m.variant in VARIANTS, m.name
        assert m.name == metric_name(m.family, m.quantity, m.region, m.variant), m.name
        info = m.info()
        assert (info["family"], info["quantity"], info["region"], info["variant"], info["estimator"]) == \
            (m.family, m.quantity, m.region, m.variant, m.estimator)


def test_register_refuses_a_name_that_does_not_follow_the_grammar():
    class _Bad(Metric):
        name = "jwbdh.face.ssim2"
        family = "jwbdh"
        quantity = "ssim2"
        region = "face"

    _Bad.__module__ = "avatar_eval.metrics.fake"
    with pytest.raises(ValueError, match="jwbdh.ssim2.face"):
        register(_Bad)
    _Bad.name = "jwbdh.ssim2.mouthx"
    _Bad.region = "mouthx"
    with pytest.raises(ValueError, match="region"):
        register(_Bad)
    assert not is_registered("jwbdh.face.ssim2")


def test_every_alias_resolves_to_a_registered_metric_and_warns():
    assert len(DEPRECATED_NAMES) == 86
    for old, new in DEPRECATED_NAMES.items():
        assert is_registered(new), (old, new)
        assert not is_registered(old), old
        with pytest.warns(DeprecationWarning, match=f"`{old}` is deprecated; use `{new}`"):
            assert get_metric_class(old).name == new
    with pytest.warns(DeprecationWarning):
        assert resolve_metrics(["jwbdh.face.ssim", "jwbdh.ssim.face", "idc"]) == ["jwbdh.ssim.face", "identity.idc"]


def test_fields_come_from_run_json_before_the_registry():
    info = {"family": "jwbdh", "quantity": "ssim", "region": "hands", "variant": "compat", "estimator": ""}
    assert metric_fields("whatever", {"whatever": info}).region == "hands"
    f = metric_fields("vbench.dynamic_degree.dis.face")  # an old name: the registry, through the alias
    assert (f.family, f.quantity, f.region, f.variant, f.estimator) == ("vbench", "dynamic_degree", "face",
                                                                         "offline", "dis")
    assert metric_fields("not_a.metric") is None


def test_metrics_command_on_an_old_name_says_the_new_one():
    res = runner.invoke(app, ["metrics", "hands.hkc.mediapipe"])
    assert res.exit_code == 0, res.output
    assert "`hands.hkc.mediapipe` is deprecated; use `hands.hkc.offline`" in " ".join(res.output.split())
    assert "name: hands.hkc.offline" in res.output and "estimator: mediapipe-hands" in res.output


def test_metrics_command_on_a_suite_lists_its_metrics():
    res = runner.invoke(app, ["metrics", "jwbdh-pixels"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "suite: jwbdh-pixels" in out and "metrics (15):" in out
    assert "jwbdh.ssim pair, needs pair_frames.full" in out and "jwbdh.psnr.right_hand pair" in out
    assert "jwbdh.fid" not in out


# old names of fast, weight-free metrics: pixels (pair) and DIS flow
OLD = ["jwbdh.full.ssim", "jwbdh.full.psnr", "vbench.dynamic_degree.dis"]


def _clip_dirs(tmp_path: Path, clips: Path) -> tuple[Path, Path]:
    gt, model = tmp_path / "gt", tmp_path / "m"
    gt.mkdir()
    model.mkdir()
    (gt / "grid.mpg").symlink_to(clips / "gt" / "grid_bbaf2n.mpg")
    (model / "grid.mp4").symlink_to(clips / "audio_shift_0.5s" / "grid_bbaf2n.mp4")
    return gt, model


def _run(out: Path, gt: Path, model: Path, names: list[str]):
    args = ["run", "--gt", str(gt), "--model", f"m={model}", "--out", str(out), "--no-progress"]
    for n in names:
        args += ["--suite", n]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return runner.invoke(app, args)


@pytest.fixture(scope="module")
def old_and_new_runs(tmp_path_factory, clips):
    tmp = tmp_path_factory.mktemp("names")
    gt, model = _clip_dirs(tmp, clips)
    old = _run(tmp / "old", gt, model, OLD)
    new = _run(tmp / "new", gt, model, [DEPRECATED_NAMES[n] for n in OLD])
    return tmp, old, new


def test_old_names_on_the_command_line_run_and_record_the_new_names(old_and_new_runs):
    tmp, old, new = old_and_new_runs
    assert old.exit_code == 0, old.output
    assert new.exit_code == 0, new.output
    said = " ".join(old.output.split())
    for n in OLD:
        assert f"`{n}` is deprecated; use `{DEPRECATED_NAMES[n]}`" in said
    recs = [json.loads(x) for x in (tmp / "old" / "records.jsonl").read_text().splitlines()]
    assert {r["metric"] for r in recs} == {DEPRECATED_NAMES[n] for n in OLD}
    assert set(json.loads((tmp / "old" / "run.json").read_text())["metrics"]) == {DEPRECATED_NAMES[n] for n in OLD}
    assert "not_a_metric" not in said


def test_old_and_new_names_give_identical_records(old_and_new_runs):
    tmp, _, _ = old_and_new_runs
    rd = _records_diff()
    d = rd.diff_runs(tmp / "old", tmp / "new")
    assert d.ok and d.identical >= 4, d.summary()  # 3 metrics on the model clip, DIS also on the GT
    assert rd.main([str(tmp / "old"), str(tmp / "new")]) == 0


def test_records_diff_finds_a_changed_value_and_a_missing_record(old_and_new_runs, tmp_path):
    src, _, _ = old_and_new_runs
    rd = _records_diff()
    lines = [json.loads(x) for x in (src / "new" / "records.jsonl").read_text().splitlines()]
    ok = next(r for r in lines if r["status"] == "ok")
    ok["value"] = ok["value"] + 1e-12
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "records.jsonl").write_text("\n".join(json.dumps(r) for r in lines[:-1]) + "\n")
    d = rd.diff_runs(src / "new", changed)
    assert len(d.differing) == 1 and len(d.only_a) == 1 and not d.ok
    assert rd.main([str(src / "new"), str(changed)]) == 1


def test_report_renders_an_old_run_directory_under_the_new_names(old_and_new_runs, tmp_path):
    """A run directory written before the rename (old names in records.jsonl and run.json)."""
    src, _, _ = old_and_new_runs
    back = {v: k for k, v in DEPRECATED_NAMES.items()}
    old_dir = tmp_path / "legacy"
    old_dir.mkdir()
    recs = [json.loads(x) for x in (src / "new" / "records.jsonl").read_text().splitlines()]
    for r in recs:
        r["metric"] = back[r["metric"]]
        r.pop("key", None)
    (old_dir / "records.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    meta = json.loads((src / "new" / "run.json").read_text())
    meta["metrics"] = {back[k]: {x: y for x, y in v.items() if x not in ("family", "quantity", "estimator")}
                       for k, v in meta["metrics"].items()}
    (old_dir / "run.json").write_text(json.dumps(meta))
    rd = _records_diff()
    assert not rd.diff_runs(old_dir, src / "new").ok  # the names differ ...
    assert rd.diff_runs(old_dir, src / "new", aliases=True).ok  # ... the records do not
    res = runner.invoke(app, ["report", str(old_dir), "--format", "md"])
    assert res.exit_code == 0, res.output
    board = (old_dir / "leaderboard.md").read_text()
    for n in OLD:
        assert DEPRECATED_NAMES[n] in board, DEPRECATED_NAMES[n]
        assert f"{n} " not in board and f"{n}|" not in board
    # the JWB-DH section sits under the region read from the fields, and holds the DIS row
    assert "JWB-DH · Whole body" in board


def test_rerun_into_a_run_directory_with_old_names_is_refused(old_and_new_runs, tmp_path, clips):
    """Records made before the rename keep their old names: a rerun into that directory would add
    the same metrics again under the new names, two records of one metric in one directory. It is
    refused, naming each rename; --overwrite moves the old run aside and recomputes."""
    src, _, _ = old_and_new_runs
    back = {v: k for k, v in DEPRECATED_NAMES.items()}
    legacy = tmp_path / "legacy"
    shutil.copytree(src / "new", legacy)
    recs = [json.loads(x) for x in (legacy / "records.jsonl").read_text().splitlines()]
    for r in recs:
        r["metric"] = back[r["metric"]]
    (legacy / "records.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    meta = json.loads((legacy / "run.json").read_text())
    mv = meta["resume"]["config"]["metric_versions"]
    meta["resume"]["config"]["metric_versions"] = {back.get(k, k): v for k, v in mv.items()}
    (legacy / "run.json").write_text(json.dumps(meta))
    gt, model = _clip_dirs(tmp_path, clips)
    res = _run(legacy, gt, model, [DEPRECATED_NAMES[n] for n in OLD])
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert "metric name: jwbdh.full.ssim → jwbdh.ssim (renamed" in said
    assert {json.loads(x)["metric"] for x in (legacy / "records.jsonl").read_text().splitlines()} == set(OLD)
    again = runner.invoke(app, ["run", "--gt", str(gt), "--model", f"m={model}", "--out", str(legacy),
                                "--no-progress", "--overwrite", *sum((["--suite", DEPRECATED_NAMES[n]] for n in OLD), [])])
    assert again.exit_code == 0, again.output
    assert {json.loads(x)["metric"] for x in (legacy / "records.jsonl").read_text().splitlines()} == {
        DEPRECATED_NAMES[n] for n in OLD}
