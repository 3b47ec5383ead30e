"""Peak memory of a worker against clip length (issue 14: flat within 10 %).

    python benchmarks/memory_flat.py [--source CLIP] [--lengths 5 20 60] [--fps 10]
        [--suite theval] [--suite jwbdh-offline] [--keep DIR]

Builds 1080p clips of each length from a shared 1080p clip (``--source``, default
``../shared/data/whole_body/creator_gesturing_phone.mp4``, 33 s 1080p30 with audio), looping it
(ffmpeg ``-stream_loop``) for lengths past its end, re-encoded with x264 at ``--fps`` (default: the
source's; a lower rate makes the long clips quicker to evaluate and keeps the resolution, which is
what the per-frame buffers scale with). Each (suite, length) runs in a fresh Python process
through the real runner at ``-j 1`` (the process is the worker); it reports its peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the frames it decoded. The JWB-DH offline suite
pairs the clip with an x264 CRF 35 copy of itself (the model) so the pair pass and the region crops
run on both.

Suites: ``theval`` = ``theval-landmarks`` (paper), ``compat`` = ``theval-landmarks-compat``,
``jwbdh-offline`` = the JWB-DH metrics that need no downloaded weights (SSIM / PSNR / pixel CSIM,
full frame and the four regions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "whole_body" / "creator_gesturing_phone.mp4"
SUITES = {
    "theval": ["theval-landmarks"],
    "compat": ["theval-landmarks-compat"],
    "jwbdh-offline": ["jwbdh-pixels"],  # the 15 pixel metrics (SSIM / PSNR / pixel CSIM × 5 regions)
}

CHILD = r"""
import json, resource, sys, time
from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import RunConfig, run
clip, model, out, metrics = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
models = {"m": model or clip}
sample = Sample(id="clip", gt=clip if model else None, models=models)
t = time.perf_counter()
run(Manifest([sample]), RunConfig(metrics=metrics, out_dir=out, workers=1, reports=False), progress=False)
wall = time.perf_counter() - t
last = json.load(open(out + "/run.json"))["last_run"]
bad = [json.loads(l) for l in open(out + "/records.jsonl")]
bad = [r["metric"] + ": " + str(r.get("message", ""))[:80] for r in bad if r["status"] == "error"]
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "frames": last["frames"], "wall_s": wall, "errors": bad}))
"""


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def build(src: Path, seconds: float, fps: float | None, out: Path) -> Path:
    p = out / f"len{seconds:g}s.mp4"
    if not p.exists():
        rate = ["-r", f"{fps:g}"] if fps else []
        ffmpeg("-stream_loop", "-1", "-i", str(src), "-t", f"{seconds:g}", "-vf", "scale=1920:1080",
               *rate, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
               "-c:a", "aac", str(p))
    return p


def degraded(clip: Path) -> Path:
    p = clip.with_name(clip.stem + "_crf35.mp4")
    if not p.exists():
        ffmpeg("-i", str(clip), "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-c:a", "copy", str(p))
    return p


def measure(clip: Path, model: Path | None, metrics: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        r = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(model or ""), out, json.dumps(metrics)],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise SystemExit(f"child failed on {clip.name}: {r.stderr[-2000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--lengths", type=float, nargs="+", default=[5, 20, 60])
    ap.add_argument("--fps", type=float, default=None)
    ap.add_argument("--suite", action="append", choices=sorted(SUITES))
    ap.add_argument("--keep", type=Path, default=None, help="folder for the built clips (kept between runs)")
    a = ap.parse_args()
    suites = a.suite or ["theval", "jwbdh-offline"]
    folder = a.keep or Path(tempfile.mkdtemp(prefix="memory_flat_"))
    folder.mkdir(parents=True, exist_ok=True)
    clips = {s: build(a.source, s, a.fps, folder) for s in a.lengths}
    print(f"load average {os.getloadavg()[0]:.2f}; clips 1920×1080 from {a.source.name}"
          f"{f' at {a.fps:g} fps' if a.fps else ''} in {folder}")
    for suite in suites:
        rows = []
        for s, clip in clips.items():
            model = degraded(clip) if suite == "jwbdh-offline" else None
            r = measure(clip, model, SUITES[suite])
            rows.append(r["peak_rss_mb"])
            err = f"  errors: {r['errors'][:2]}" if r["errors"] else ""
            print(f"{suite:14s} {s:5g} s  {r['frames']:5d} frames  peak RSS {r['peak_rss_mb']:7.1f} MB  "
                  f"({r['wall_s']:.1f} s){err}", flush=True)
        print(f"{suite:14s} spread: largest / smallest peak = {max(rows) / min(rows):.3f}\n", flush=True)


if __name__ == "__main__":
    main()
