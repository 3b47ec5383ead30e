"""How long report generation takes on a large run: a 10,000-record run, cold and warm.

    python benchmarks/report_speed.py [--records 10000] [--models 4] [--metrics 20] [--work DIR]

Synthesises a run directory (:func:`avatar_eval.testing.synthetic_run.write_synthetic_run`:
``records.jsonl`` + ``run.json``; GT + ``--models`` models x ``--metrics`` metrics x as many clips
as make ``--records``), its clips cycling over the three shipped clips (``examples/clips/gt``), so
the frame strips are decoded from real video. Then times, each in a fresh process (imports
included, as ``avatar-eval report`` pays them):

* ``cold``: ``avatar-eval report RUN`` with no strip cache (every distinct clip decoded);
* ``warm``: the same command again (strips from ``RUN/report_cache``, file digests memoised);
* ``html only, warm``: ``--format html``;
* ``md,csv``: the text exports alone.

Prints one Markdown table with the wall and CPU times (CPU: user + system of the process, which
stays put when other work shares the machine) and the size of report.html. The numbers depend
on the machine; docs/reports.md gives those of the project's 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [ROOT / "examples" / "clips" / "gt" / n for n in ("face5.mp4", "may.mp4", "grid_bbaf2n.mpg")]


def _time(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s user + system) of a command."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=4)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--work", type=Path, default=None, help="where the run is written (default: a temp dir)")
    args = ap.parse_args()

    from avatar_eval.testing.synthetic_run import write_synthetic_run

    work = args.work or Path(tempfile.mkdtemp(prefix="report_speed_"))
    run = work / "run"
    if run.exists():
        shutil.rmtree(run)
    n_models = args.models + 1  # + GT
    n_samples = max(1, round(args.records / (n_models * args.metrics)))
    kinds = [None, True, False]
    names = ["theval.lip_dynamics", "theval.eyebrow_dynamics"] + ["jwbdh.psnr", "jwbdh.psnr.face", "jwbdh.psnr.hands"]
    names += [f"extras.m{i:02d}" for i in range(max(0, args.metrics - len(names)))]
    metrics = {n: kinds[i % 3] for i, n in enumerate(names[:args.metrics])}
    write_synthetic_run(run, CLIPS, models=[f"model{i}" for i in range(args.models)], metrics=metrics,
                        n_samples=n_samples, skip_every=37, error_every=101, flag_every=17)
    with open(run / "records.jsonl") as f:
        n_rec = sum(1 for _ in f)
    exe = [sys.executable, "-m", "avatar_eval.cli.main"]
    if not (ROOT / "src" / "avatar_eval" / "cli" / "main.py").exists():
        raise SystemExit("run from the repository")
    rows = []
    rows.append(("cold (no strip cache)", _time([*exe, "report", str(run)])))
    rows.append(("warm", _time([*exe, "report", str(run)])))
    rows.append(("html only, warm", _time([*exe, "report", str(run), "--format", "html"])))
    rows.append(("md,csv", _time([*exe, "report", str(run), "--format", "md,csv"])))
    size = (run / "report.html").stat().st_size
    print(f"run: {n_rec} records ({n_models} models incl. GT x {len(metrics)} metrics x {n_samples} clips; "
          f"{len(CLIPS)} distinct video files); report.html {size / 1e6:.1f} MB")
    print()
    print("| render | wall s | CPU s |")
    print("|---|---|---|")
    for what, (wall, cpu) in rows:
        print(f"| {what} | {wall:.1f} | {cpu:.1f} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
