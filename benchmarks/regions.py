"""Throughput of the whole-body region stages (frames per second), on the shared real clips.

    PYTHONPATH=src python benchmarks/regions.py [--frames 90] [--out benchmarks/regions_results.json]

Stages, per clip (first ``--frames`` frames):
* ``decode``: PyAV decode to RGB only;
* ``pose`` / ``hands`` / ``face_mesh``: each MediaPipe model alone on the detector's input size
  (long side <= 1280);
* ``region_tracks``: the shared detector (pose + hands + wrist-ROI re-detection + face mesh) in a
  decode pass (decode time excluded);
* ``region_crops``, ``region_crops.compat``: what the crop artifacts add on top of the shared
  detections (cropping + lossless encoding);
* ``pair_full`` / ``pair_regions``: the pair pass's full-frame SSIM+PSNR+cosine per frame pair at
  the clip's resolution, and the per-region comparison of the crop videos (4 regions).
Prints a Markdown table; machine load (``os.getloadavg``) is printed with it, since the numbers
are only comparable on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from avatar_eval.io.video import iter_frames  # noqa: E402
from avatar_eval.metrics.functional import image as IM  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


class _Cut:
    """A ClipContext stand-in that only decodes the first n frames (monkeypatched iterator)."""


def first_frames(path: str, n: int) -> list[np.ndarray]:
    out = []
    for f in iter_frames(path):
        out.append(f.rgb)
        if len(out) >= n:
            break
    return out


def bench_clip(path: str, n: int) -> dict[str, float]:
    import cv2
    import mediapipe as mp

    import avatar_eval.regions.artifacts  # noqa: F401
    from avatar_eval.pipeline import context as C
    from avatar_eval.pipeline.context import ClipContext
    from avatar_eval.regions.mediapipe import DEFAULT_CONFIG

    res: dict[str, float] = {}
    t0 = time.perf_counter()
    frames = first_frames(path, n)
    res["decode"] = len(frames) / (time.perf_counter() - t0)
    H, W = frames[0].shape[:2]
    m = DEFAULT_CONFIG["detect_max_side"]
    s = min(1.0, m / max(H, W))
    small = [np.ascontiguousarray(cv2.resize(f, (round(W * s), round(H * s)), interpolation=cv2.INTER_AREA)) if s < 1 else f
             for f in frames]
    for name, mk in (("pose", lambda: mp.solutions.pose.Pose(model_complexity=1)),
                     ("hands", lambda: mp.solutions.hands.Hands(max_num_hands=2, model_complexity=1)),
                     ("face_mesh", lambda: mp.solutions.face_mesh.FaceMesh(max_num_faces=1))):
        with mk() as model:
            t0 = time.perf_counter()
            for f in small:
                model.process(f)
            res[name] = len(small) / (time.perf_counter() - t0)

    orig = C.iter_frames

    def cut(p, threads=0):
        for f in orig(p, threads):
            if f.index >= n:
                return
            yield f

    C.iter_frames = cut
    try:
        ctx = ClipContext(path)
        ctx.prepare(["region_tracks"])
        res["region_tracks"] = n / ctx.timings["region_tracks"]
        ctx2 = ClipContext(path)
        ctx2._cache["region_tracks"] = ctx.get("region_tracks")  # crops reuse finished tracks
        ctx2.prepare(["region_crops", "region_crops.compat"])
        res["region_crops"] = n / ctx2.timings["region_crops"]
        res["region_crops.compat"] = n / ctx2.timings["region_crops.compat"]
        crops = ctx2.get("region_crops")
    finally:
        C.iter_frames = orig
    k = min(n, 30)
    t0 = time.perf_counter()
    for a, b in zip(frames[:k], frames[1 : k + 1]):
        IM.ssim(a, b), IM.psnr(a, b), IM.pixel_cosine(a, b)
    res["pair_full"] = k / (time.perf_counter() - t0)
    arrs = {r: crops[r].array() for r in ("face", "hands", "left_hand", "right_hand")}
    t0 = time.perf_counter()
    for _r, arr in arrs.items():
        for a, b in zip(arr[:-1], arr[1:]):
            IM.ssim(a, b), IM.psnr(a, b), IM.pixel_cosine(a, b)
    res["pair_regions"] = (len(arr) - 1) / (time.perf_counter() - t0)
    res["_size"] = f"{W}x{H}"
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    clips = sorted(str(p) for p in (SHARED / "whole_body").glob("*.mp4")) + [str(SHARED / "driven_pairs" / "aragaki_real_driving.mp4")]
    clips = [c for c in clips if Path(c).exists()]
    if not clips:
        sys.exit("../shared/data is absent: nothing to benchmark")
    rows = {}
    load0 = os.getloadavg()
    for c in clips:
        rows[Path(c).stem] = bench_clip(c, a.frames)
        print(Path(c).stem, rows[Path(c).stem], file=sys.stderr)
    stages = ["decode", "pose", "hands", "face_mesh", "region_tracks", "region_crops", "region_crops.compat", "pair_full", "pair_regions"]
    print(f"frames/s, first {a.frames} frames per clip, {os.cpu_count()} CPU cores, load average "
          f"{load0[0]:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| clip | size | " + " | ".join(stages) + " |")
    print("|---" * (len(stages) + 2) + "|")
    for k, r in rows.items():
        print(f"| {k} | {r['_size']} | " + " | ".join(f"{r[s]:.1f}" for s in stages) + " |")
    if a.out:
        Path(a.out).write_text(json.dumps({"frames": a.frames, "load": [load0, os.getloadavg()], "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
