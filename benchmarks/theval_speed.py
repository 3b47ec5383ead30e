"""Throughput of the THEval landmark suite, per stage and whole, on the shipped clips.

    python benchmarks/theval_speed.py [--clips examples/clips/gt] [-j 2]
        [--official PATH_TO_THEval_CHECKOUT --official-python PYTHON]

Prints frames/s for: decode only (PyAV → RGB), each Face Mesh configuration, VAD (seconds of
audio per second), the metric formulas, and the whole suite (paper + compat, one decode per
clip) through the real runner with ``-j`` workers. With ``--official``, the four official THEval
scripts (lip_dynamics, eyebrow_dynamics, silent_lip_stability, lip_sync) are run on the same
clips, one process per clip as the reference numbers were made, with a Python that has their
requirements (decord, moviepy, librosa, pydub); the ratio is printed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from avatar_eval.io.video import iter_frames, probe
from avatar_eval.metrics.registry import get_metric, resolve_metrics
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import RunConfig, run

SUITES = ["theval-landmarks", "theval-landmarks-compat"]
OFFICIAL = ["Naturalness/lip_dynamics.py", "Naturalness/eyebrow_dynamics.py",
            "Synchronization/silent_lip_stability.py", "Synchronization/lip_sync.py"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default="examples/clips/gt")
    ap.add_argument("-j", "--workers", type=int, default=2)
    ap.add_argument("--official", default=None)
    ap.add_argument("--official-python", default=sys.executable)
    a = ap.parse_args()
    clips = sorted(p for p in Path(a.clips).iterdir() if p.suffix.lower() in (".mp4", ".mpg", ".mov"))
    n_frames = sum(probe(p).n_frames for p in clips)
    dur = sum(probe(p).duration for p in clips)
    print(f"{len(clips)} clips, {n_frames} frames, {dur:.1f} s of video")

    t = time.perf_counter()
    n = sum(1 for p in clips for _ in iter_frames(p))
    print(f"decode (PyAV → RGB)            {n / (time.perf_counter() - t):8.1f} frames/s")

    stage: dict[str, float] = {}
    names = resolve_metrics(SUITES)
    t_metrics = 0.0
    for p in clips:
        ctx = ClipContext(str(p))
        ms = [get_metric(x) for x in names]
        ctx.prepare([r for m in ms for r in m.requires])
        t0 = time.perf_counter()
        for m in ms:
            try:
                m.compute(ctx)
            except Exception:  # noqa: BLE001 - only timing here
                pass
        t_metrics += time.perf_counter() - t0
        for k, v in ctx.timings.items():
            stage[k] = stage.get(k, 0.0) + v
    for k, v in sorted(stage.items()):
        if k.startswith("face_mesh") or k == "decode":
            print(f"{k:30s} {n_frames / v:8.1f} frames/s")
    if "vad" in stage:
        print(f"{'vad (silero)':30s} {dur / stage['vad']:8.1f} s audio/s")
    print(f"{'metric formulas':30s} {n_frames / max(t_metrics, 1e-9):8.1f} frames/s")

    with tempfile.TemporaryDirectory() as tmp:
        man = Manifest([Sample(id=p.stem, models={"m": str(p)}) for p in clips])
        t = time.perf_counter()
        run(man, RunConfig(metrics=SUITES, out_dir=tmp, workers=a.workers, reports=False), progress=False)
        wall = time.perf_counter() - t
    print(f"whole suite, paper + compat (-j {a.workers}, process start included): {n_frames / wall:8.1f} frames/s "
          f"({wall:.1f} s for {dur:.1f} s of video)")

    if a.official:
        root = Path(a.official)
        t_off = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            for p in clips:
                lst = Path(tmp) / "list.txt"
                lst.write_text(str(p.resolve()) + "\n")
                for script in OFFICIAL:
                    t = time.perf_counter()
                    subprocess.run([a.official_python, str(root / script), "--video_txt", str(lst),
                                    "--output_txt", str(Path(tmp) / "out.txt")], check=False,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
                    t_off += time.perf_counter() - t
        print(f"official THEval scripts (4 scripts, one process per clip): {n_frames / t_off:8.1f} frames/s "
              f"({t_off:.1f} s); avatar-eval is {t_off / wall:.1f}× faster")


if __name__ == "__main__":
    main()
