"""run.json attributes the jobs' time to stages (issue 14): decode, each frame and value artifact,
each metric, the pair pass, record I/O; the stages are exclusive, so they add up to the jobs' wall
time. Loose bounds on sums and shares only, never a timing threshold."""

from __future__ import annotations

import json
from pathlib import Path

from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import NON_STAGE_KEYS, RunConfig, run

DATA = Path(__file__).resolve().parents[1] / "data" / "jwbdh"


def _last_run(tmp: Path, manifest: Manifest, metrics: list[str]) -> dict:
    run(manifest, RunConfig(metrics=metrics, out_dir=str(tmp), workers=1, reports=False), progress=False)
    return json.loads((tmp / "run.json").read_text())["last_run"]


def _check_sums(last: dict) -> dict[str, float]:
    t = last["timings_s"]
    stages = {k: v for k, v in t.items() if k not in NON_STAGE_KEYS}
    assert all(v >= 0 for v in stages.values()), stages
    # exclusive stages + what none covers = each job's own wall time (float sums)
    assert abs(sum(stages.values()) - t["total"]) < 1e-6 * max(1.0, t["total"])
    # attribution covers the job: the unattributed rest is a small part (loose: 25 %)
    assert stages["job_other"] <= 0.25 * t["total"], stages
    # -j 1: the jobs plus the main process's record writes during them fill the wall time
    # (loose: the progress bar and result collection are the rest; 20 % + 0.5 s)
    covered = t["total"] + last["main_s"]["records_io_jobs"]
    assert abs(covered - last["wall_s"]) <= 0.2 * last["wall_s"] + 0.5, (covered, last["wall_s"])
    for k in ("plan", "run_json", "records_io", "dataset_reduce"):
        assert k in last["main_s"]
    return stages


def test_landmark_run_stages(clips: Path, tmp_path: Path) -> None:
    clip = clips / "gt" / "grid_bbaf2n.mpg"
    last = _last_run(tmp_path, Manifest([Sample(id="g", models={"m": str(clip)})]),
                     ["theval.lip_dynamics", "theval.silent_lip_stability"])
    stages = _check_sums(last)
    for k in ("decode", "face_mesh", "audio16k", "vad", "probe", "artifact_save",
              "metric:theval.lip_dynamics", "metric:theval.silent_lip_stability"):
        assert k in stages, (k, sorted(stages))
    # VAD's time excludes the audio decode it asks for (exclusive stages): both are counted once
    assert stages["face_mesh"] > 0 and stages["decode"] > 0
    # silero VAD ran torch in the job: run.json's torch facts are the job's, not "not loaded"
    torch_facts = json.loads((tmp_path / "run.json").read_text())["environment"]["kernels"]["torch"]
    assert isinstance(torch_facts.get("intra_op_threads"), int), torch_facts


def test_pair_run_stages(tmp_path: Path) -> None:
    man = Manifest([Sample(id="a", gt=str(DATA / "aragaki_gt_20f.mp4"),
                           models={"m": str(DATA / "aragaki_gen_20f.mp4")})])
    last = _last_run(tmp_path, man, ["jwbdh.psnr", "jwbdh.psnr.face"])
    stages = _check_sums(last)
    for k in ("decode", "region_crops", "region_tracking", "pair:pair_frames.full", "pair:pair_frames.regions",
              "pair_pass", "metric:jwbdh.psnr", "metric:jwbdh.psnr.face"):
        assert k in stages, (k, sorted(stages))
