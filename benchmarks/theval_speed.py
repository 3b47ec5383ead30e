"""Throughput of the THEval landmark suites, per stage and whole, and of the official scripts.

    python benchmarks/theval_speed.py [--clips examples/clips/gt] [-j 2]
        [--official PATH_TO_THEval_CHECKOUT --official-python PYTHON [--official-mode list|per-clip]]

Prints frames/s for: decode only (PyAV → RGB), each Face Mesh configuration, VAD (seconds of
audio per second), the metric formulas, and the whole suites through the real runner with ``-j``
workers (process start included): the paper landmark suite (what ``--suite theval`` computes
offline), the compat suite (the four official definitions) and both together (one decode).

With ``--official`` the four official THEval scripts (lip_dynamics, eyebrow_dynamics,
silent_lip_stability, lip_sync) run on the same clips with a Python that has their requirements
(mediapipe 0.10.21, decord, moviepy 1.0.3, librosa, pydub, silero-vad, an ``ffmpeg`` binary), and
the ratios are printed. ``list`` mode (default) runs each script once over the whole clip list,
as a user would (the faster, conservative baseline); ``per-clip`` runs one process per clip and
script, as the reference numbers were made. The official scripts run one after another, as their
README does.

After each suite run, the per-stage table of its ``run.json`` is printed (``run_stages.py``: decode,
each Face Mesh configuration, VAD, each metric, record I/O, worker start-up). The load average is
printed with every figure: on a shared machine compare figures of the same run only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from avatar_eval.io.video import iter_frames, probe
from avatar_eval.metrics.registry import get_metric, resolve_metrics
from avatar_eval.pipeline.context import ClipContext

SUITES = {
    "paper": ["theval-landmarks"],
    "compat": ["theval-landmarks-compat"],
    "paper + compat": ["theval-landmarks", "theval-landmarks-compat"],
}
OFFICIAL = ["Naturalness/lip_dynamics.py", "Naturalness/eyebrow_dynamics.py",
            "Synchronization/silent_lip_stability.py", "Synchronization/lip_sync.py"]
VIDEO_EXT = (".mp4", ".mpg", ".mov", ".mkv", ".avi", ".webm")


def stages(clips: list[Path], n_frames: int, dur: float) -> None:
    import torch

    torch.set_num_threads(1)  # as the runner's workers
    t = time.perf_counter()
    n = sum(1 for p in clips for _ in iter_frames(p))
    print(f"{'decode (PyAV → RGB, alone)':34s} {n / (time.perf_counter() - t):8.1f} frames/s")
    stage: dict[str, float] = {}
    names = resolve_metrics(SUITES["paper + compat"])
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
        if k.startswith("face_mesh"):
            print(f"{k:34s} {n_frames / v:8.1f} frames/s")
    for k in ("vad", "vad.theval_sync"):
        if k in stage:
            print(f"{k + ' (silero v5)':34s} {dur / stage[k]:8.1f} s audio/s")
    print(f"{'metric formulas':34s} {n_frames / max(t_metrics, 1e-9):8.1f} frames/s")


def ours(clips: list[Path], suites: list[str], workers: int, show_stages: bool = True) -> float:
    """Wall time of ``avatar-eval run`` on the clips as a user runs it: a fresh process (start-up,
    imports, run.json included), ``-j workers``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run_stages import print_run

    exe = Path(sys.executable).parent / "avatar-eval"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "clips"
        folder.mkdir()
        for p in clips:  # the model folder: links to the clips
            (folder / p.name).symlink_to(p.resolve())
        out = Path(tmp) / "run"
        cmd = [str(exe), "run", "-m", f"m={folder}", "--out", str(out), "-j", str(workers), "--no-reports",
               "--no-progress"]
        for s in suites:
            cmd += ["--suite", s]
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if r.returncode != 0:
            print(f"  avatar-eval run exited {r.returncode}: {r.stderr.strip()[-500:]}")
        rec = out / "records.jsonl"
        errors = [ln for ln in rec.read_text().splitlines() if '"status": "error"' in ln] if rec.exists() else []
        if errors:
            print(f"  ({len(errors)} error records, e.g. {errors[0][:200]})")
        if show_stages:
            print_run(out)
    return wall


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def official(clips: list[Path], root: Path, python: str, mode: str,
             pythonpath: str | None = None) -> tuple[float, list[str]]:
    """Seconds the official scripts took, and the failures (script: last stderr line)."""
    env = dict(os.environ)
    if pythonpath:  # e.g. benchmarks/official_env (a torchaudio stand-in), for the official scripts only;
        # absolute, because the scripts run from the THEval checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(pythonpath).resolve()), env.get("PYTHONPATH")]))
    total = 0.0
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        lists = [clips] if mode == "list" else [[p] for p in clips]
        for group in lists:
            lst = Path(tmp) / "list.txt"
            lst.write_text("".join(str(p.resolve()) + "\n" for p in group))
            for script in OFFICIAL:
                t = time.perf_counter()
                r = subprocess.run([python, str(root / script), "--video_txt", str(lst),
                                    "--output_txt", str(Path(tmp) / "out.txt")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root, text=True, env=env)
                total += time.perf_counter() - t
                if r.returncode != 0:
                    last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
                    print(f"  note: {script} exited {r.returncode}: {last}")
                    failed.append(f"{script}: {last}")
    return total, failed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default="examples/clips/gt")
    ap.add_argument("-j", "--workers", default="2", help="worker counts, comma-separated (e.g. 1,2)")
    ap.add_argument("--official", default=None)
    ap.add_argument("--official-python", default=sys.executable)
    ap.add_argument("--official-mode", choices=["list", "per-clip"], default="list")
    ap.add_argument("--official-pythonpath", default=None,
                    help="prepended to PYTHONPATH for the official scripts only (e.g. benchmarks/official_env)")
    ap.add_argument("--skip-stages", action="store_true")
    ap.add_argument("--suites", default=",".join(SUITES), help=f"comma-separated, of: {', '.join(SUITES)}")
    a = ap.parse_args()
    clips = sorted(p for p in Path(a.clips).iterdir() if p.suffix.lower() in VIDEO_EXT)
    n_frames = sum(probe(p).n_frames for p in clips)
    dur = sum(probe(p).duration for p in clips)
    print(f"{len(clips)} clips, {n_frames} frames, {dur:.1f} s of video; {load()}\n")
    if not a.skip_stages:
        stages(clips, n_frames, dur)
        print()
    walls = {}
    for j in [int(x) for x in str(a.workers).split(",")]:
        for label, suites in SUITES.items():
            if label not in a.suites.split(","):
                continue
            key = f"{label} -j {j}"
            walls[key] = ours(clips, suites, j)
            print(f"avatar-eval {key:20s}: {n_frames / walls[key]:8.1f} frames/s "
                  f"({walls[key]:.1f} s; {load()})\n")
    if a.official:
        t_off, failed = official(clips, Path(a.official), a.official_python, a.official_mode, a.official_pythonpath)
        print(f"official THEval, 4 scripts ({a.official_mode}): {n_frames / t_off:8.1f} frames/s ({t_off:.1f} s; "
              f"{load()})")
        if failed:  # a script that stopped early did not do its work: its time is no reference
            print(f"  no ratio: {len(failed)} official script run(s) failed, so their time is not the "
                  "official throughput (fix the environment, e.g. --official-pythonpath)")
            return
        for label, w in walls.items():
            print(f"  avatar-eval {label:20s} is {t_off / w:5.1f}× the official throughput")


if __name__ == "__main__":
    main()
