"""JWB-DH pixel suite against its region tracking alone, in one run (issue 14: >= 70 %).

    python benchmarks/jwbdh_throughput.py [--source CLIP] [--seconds 4] [--repeats 2] [--keep DIR]

Builds a GT clip (the first ``--seconds`` of ``--source``, default the shared 1080p30
``creator_gesturing_phone.mp4``, x264 CRF 18) and a model clip (its x264 CRF 35 copy), then runs,
each in a fresh Python process at ``-j 1`` and alternating ``--repeats`` times:

* ``tracking``: the ``region_tracks`` artifact of both clips (MediaPipe pose + hands + face mesh
  in one decode pass each), what the suite cannot do without;
* ``suite``: ``avatar-eval run --suite jwbdh-pixels`` on the pair through the real runner
  (region tracks, default crops, the full-frame and region pair passes, 15 records).

Prints wall and CPU seconds (process CPU, all threads) of each, frames per wall second, and the
suite's throughput as a share of tracking's, by wall time and by CPU time; then the suite's stage
table (``run.json`` timings). Process start-up (imports) is excluded on both sides and printed
apart. Numbers are only comparable on an otherwise idle machine: the load average is printed.
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

CHILD = r"""
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
mode, gt, gen, out = sys.argv[1:5]
if mode == "tracking":
    import avatar_eval.regions.artifacts  # noqa: F401  (registers region_tracks)
    from avatar_eval.pipeline.context import ClipContext
    ctxs = [ClipContext(video_path=p) for p in (gt, gen)]
else:
    from avatar_eval.pipeline.manifest import Manifest, Sample
    from avatar_eval.pipeline.runner import RunConfig, run
    import avatar_eval.metrics  # noqa: F401
start_wall, start_cpu = time.perf_counter() - t0, time.process_time() - c0
t1 = time.perf_counter(); c1 = time.process_time()
frames = 0
if mode == "tracking":
    for ctx in ctxs:
        frames += ctx.get("region_tracks").n_frames
        ctx.release()
else:
    run(Manifest([Sample(id="pair", gt=gt, models={"m": gen})]),
        RunConfig(metrics=["jwbdh-pixels"], out_dir=out, workers=1, reports=False), progress=False)
    recs = [json.loads(l) for l in open(out + "/records.jsonl")]
    assert len(recs) == 15 and all(r["status"] == "ok" for r in recs), [r.get("message") for r in recs]
    frames = json.load(open(out + "/run.json"))["last_run"]["frames"]
print(json.dumps({"wall": time.perf_counter() - t1, "cpu": time.process_time() - c1, "frames": frames,
                  "start_wall": start_wall, "start_cpu": start_cpu}))
"""


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def build(src: Path, seconds: float, folder: Path) -> tuple[Path, Path]:
    gt, gen = folder / f"gt_{seconds:g}s.mp4", folder / f"gen_{seconds:g}s_crf35.mp4"
    if not gt.exists():
        ffmpeg("-i", str(src), "-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
               "-pix_fmt", "yuv420p", "-c:a", "aac", str(gt))
    if not gen.exists():
        ffmpeg("-i", str(gt), "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-c:a", "copy", str(gen))
    return gt, gen


def measure(mode: str, gt: Path, gen: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        r = subprocess.run([sys.executable, "-c", CHILD, mode, str(gt), str(gen), out],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise SystemExit(f"{mode} failed: {r.stderr[-3000:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
        if mode == "suite":
            sys.path.insert(0, str(REPO / "src"))
            from avatar_eval.report.timing import run_timing

            rt = run_timing(json.loads((Path(out) / "run.json").read_text())["last_run"])
            res["stages"] = [(st.name, st.seconds) for st in rt.stages] if rt else []
        return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="folder for the built clips (kept between runs)")
    a = ap.parse_args()
    folder = a.keep or Path(tempfile.mkdtemp(prefix="jwbdh_throughput_"))
    folder.mkdir(parents=True, exist_ok=True)
    gt, gen = build(a.source, a.seconds, folder)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs; pair: {gt.name} / {gen.name} in {folder}")
    runs: dict[str, list[dict]] = {"tracking": [], "suite": []}
    for i in range(a.repeats):
        for mode in ("tracking", "suite"):
            r = measure(mode, gt, gen)
            runs[mode].append(r)
            n = runs["tracking"][0]["frames"]  # both decode and track the same frames of the two clips
            print(f"  run {i + 1} {mode:8s}: wall {r['wall']:.2f} s ({n / r['wall']:.1f} frames/s of the "
                  f"{n} frames of both clips), CPU {r['cpu']:.2f} s; "
                  f"start-up {r['start_wall']:.2f} s wall / {r['start_cpu']:.2f} s CPU", flush=True)
    best = {m: min(v, key=lambda r: r["wall"]) for m, v in runs.items()}
    t, s = best["tracking"], best["suite"]
    print(f"best of {a.repeats}: tracking {t['wall']:.2f} s wall / {t['cpu']:.2f} s CPU; "
          f"suite {s['wall']:.2f} s wall / {s['cpu']:.2f} s CPU")
    print(f"suite throughput / tracking throughput: {t['wall'] / s['wall'] * 100:.1f} % by wall time, "
          f"{t['cpu'] / s['cpu'] * 100:.1f} % by CPU time (goal >= 70 %)")
    print("suite stages (best run, seconds summed over the job):")
    for k, v in s["stages"]:
        if v >= 0.005:
            print(f"  {k:40s} {v:7.3f}")


if __name__ == "__main__":
    main()
