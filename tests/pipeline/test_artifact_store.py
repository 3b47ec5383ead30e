"""The run's artifact store: a GT clip is tracked once per run however many models it is paired
with, the numbers are those of a run without the store, and the key misses on anything that can
change a track (pipeline/artifact_store.py)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from avatar_eval.pipeline import artifact_store as AS
from avatar_eval.pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.pipeline.manifest import Manifest, Sample

DATA = Path(__file__).resolve().parents[1] / "data" / "jwbdh"
GT = DATA / "aragaki_gt_20f.mp4"
GEN = DATA / "aragaki_gen_20f.mp4"

# ---------------------------------------------------------------- a counting persisted artifact
CALLS: Counter = Counter()


class _Counting(FrameAnalyzer):
    def __init__(self, ctx):
        super().__init__(ctx)
        CALLS[Path(ctx.video_path).name] += 1
        self.n = 0
        self.sum = 0.0

    def update(self, frame):
        self.n += 1
        self.sum += float(frame.rgb[::8, ::8].mean())
        time.sleep(0.005)  # long enough for a second thread to arrive while this one computes

    def finalize(self):
        return np.array([self.n, self.sum])


register_frame_artifact("test.counting", _Counting, "test only: counts its constructions", persist=True)


def test_one_computation_across_contexts_threads_and_copies(tmp_path):
    CALLS.clear()
    store = str(tmp_path / "artifacts")
    copy = tmp_path / "renamed_copy.mp4"  # same bytes, other name: the same clip for the store
    shutil.copy(GT, copy)
    out: dict[int, np.ndarray] = {}

    def work(i: int, path: Path) -> None:
        ctx = ClipContext(str(path), artifact_dir=store)
        ctx.prepare(["test.counting"])
        out[i] = ctx.get("test.counting")

    threads = [threading.Thread(target=work, args=(i, GT if i % 2 else copy)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(CALLS.values()) == 1, CALLS  # four contexts, two file names, one computation
    assert all(np.array_equal(out[0], v) for v in out.values())
    # without a store every context computes its own (the test above can fail)
    CALLS.clear()
    for _ in range(2):
        ClipContext(str(GT)).prepare(["test.counting"])
    assert CALLS[GT.name] == 2


def test_key_misses_on_options_regions_file_and_content(tmp_path):
    st = AS.ArtifactStore(tmp_path)
    base = st.key(str(GT), "face_mesh", {"face_mesh_still_threshold": 1.0})
    assert base == st.key(str(GT), "face_mesh", {"face_mesh_still_threshold": 1.0})
    assert base != st.key(str(GT), "face_mesh", {"face_mesh_still_threshold": 2.0})
    assert base != st.key(str(GT), "region_tracks", {"face_mesh_still_threshold": 1.0})
    assert base != st.key(str(GEN), "face_mesh", {"face_mesh_still_threshold": 1.0})
    boxes = tmp_path / "boxes.json"
    boxes.write_text("{}")
    k1 = st.key(str(GT), "region_crops", {"regions_file": str(boxes)})
    boxes.write_text('{"face": []}')
    AS.content_digest.__globals__["_DIGESTS"].clear()  # the memo is per (path, size, mtime)
    assert k1 != st.key(str(GT), "region_crops", {"regions_file": str(boxes)})


def test_unreadable_entry_is_recomputed(tmp_path):
    CALLS.clear()
    store = str(tmp_path / "artifacts")
    ClipContext(str(GT), artifact_dir=store).prepare(["test.counting"])
    (entry,) = (tmp_path / "artifacts" / "test.counting").glob("*.pkl")
    entry.write_bytes(b"torn")
    ctx = ClipContext(str(GT), artifact_dir=store)
    ctx.prepare(["test.counting"])
    assert CALLS[GT.name] == 2 and ctx.get("test.counting")[0] == 20


# ---------------------------------------------------------------- the runner: GT tracked once per run
METRICS = ["jwbdh.ssim.face", "jwbdh.psnr.face", "hands.hkc.offline"]


def _run(tmp_path: Path, name: str, monkeypatch, store: bool) -> tuple[dict, Counter]:
    from avatar_eval.pipeline import runner
    from avatar_eval.regions import artifacts as RA
    from avatar_eval.regions import crops as RC

    made: Counter = Counter()
    orig_crops, orig_tracks = RC.RegionCropsAnalyzer.__init__, RA.RegionTracksAnalyzer.__init__

    def crops_init(self, ctx, *a, **k):
        made[("crops", ctx.model, Path(ctx.video_path).name)] += 1
        orig_crops(self, ctx, *a, **k)

    def tracks_init(self, ctx, *a, **k):
        made[("tracks", ctx.model, Path(ctx.video_path).name)] += 1
        orig_tracks(self, ctx, *a, **k)

    monkeypatch.setattr(RC.RegionCropsAnalyzer, "__init__", crops_init)
    monkeypatch.setattr(RA.RegionTracksAnalyzer, "__init__", tracks_init)
    monkeypatch.setenv("AVATAR_EVAL_ARTIFACT_STORE", "on" if store else "off")
    gen2 = tmp_path / "other_model.mp4"
    if not gen2.exists():
        shutil.copy(GEN, gen2)
    m = Manifest([Sample(id="aragaki", gt=str(GT), models={"a": str(GEN), "b": str(gen2), "c": str(GEN)})])
    out = tmp_path / name
    runner.run(m, runner.RunConfig(metrics=METRICS, out_dir=str(out), workers=1, reports=False), progress=False)
    recs = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    monkeypatch.undo()
    return {(r["model"], r["metric"]): (r["status"], r["value"]) for r in recs}, made


def test_gt_tracked_once_per_run_same_numbers(tmp_path, monkeypatch):
    with_store, made = _run(tmp_path, "with", monkeypatch, store=True)
    # three models: the GT's crops (pair metrics) and tracks (its own HKC) made once each; the three
    # generated clips hold the same bytes (one is a renamed copy), so they are analysed once too
    assert made == Counter({("crops", "gt", GT.name): 1, ("tracks", "gt", GT.name): 1,
                            ("crops", "a", GEN.name): 1, ("tracks", "a", GEN.name): 1}), made
    without, made_off = _run(tmp_path, "without", monkeypatch, store=False)
    assert made_off[("crops", "gt", GT.name)] == 3  # once per model it is paired with: the test can fail
    assert with_store == without  # value for value
    assert all(s == "ok" for (model, metric), (s, v) in with_store.items() if metric != "hands.hkc.offline")
    # a rerun that recomputes (here: a fresh records file) tracks nothing again
    (tmp_path / "with" / "records.jsonl").unlink()
    again, made2 = _run(tmp_path, "with", monkeypatch, store=True)
    assert again == with_store and not made2


def test_worker_processes_share_tracks(tmp_path, monkeypatch):
    """-j 2: the jobs run in two processes at once; the flock makes each clip's tracks computed once
    (4 kept: GT crops and tracks, generated crops and tracks) and loaded by every other job that
    needs them (2 jobs × (gen crops + gen tracks + GT crops)), whatever the scheduling."""
    from avatar_eval.pipeline import runner

    monkeypatch.delenv("AVATAR_EVAL_ARTIFACT_STORE", raising=False)
    gen2 = tmp_path / "other_model.mp4"
    shutil.copy(GEN, gen2)
    m = Manifest([Sample(id="aragaki", gt=str(GT), models={"a": str(GEN), "b": str(gen2), "c": str(GEN)})])
    out = tmp_path / "j2"
    runner.run(m, runner.RunConfig(metrics=METRICS, out_dir=str(out), workers=2, reports=False), progress=False)
    last = json.loads((out / "run.json").read_text())["last_run"]
    assert last["artifacts"]["saved"] == 4 and last["artifacts"]["loaded"] == 6, last["artifacts"]
    recs = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert len(recs) == 10 and all(r["status"] == "ok" for r in recs)
