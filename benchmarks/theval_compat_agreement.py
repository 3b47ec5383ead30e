"""Compare avatar-eval's THEval compat variants with the official THEval numbers.

    python benchmarks/theval_compat_agreement.py [--shared ../shared] [--out runs/compat_agreement] [-j 2]

Reads ../shared/reference/theval_official_on_shared.csv (official scripts, mediapipe 0.10.21,
silero-vad 5.1.2, one video per process), runs the four compat metrics on the same clips and
prints the relative difference per clip and metric, and how many agree within 1 %.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import RunConfig, run

COLS = {
    "lip_dynamics": "theval.lip_dynamics.compat",
    "eyebrow_dynamics": "theval.eyebrow_dynamics.compat",
    "silent_lip_stability": "theval.silent_lip_stability.compat",
    "lip_sync": "theval.lip_sync.compat",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    ap.add_argument("--out", default="runs/compat_agreement")
    ap.add_argument("-j", "--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    shared = Path(a.shared)
    rows = list(csv.DictReader(open(shared / "reference" / "theval_official_on_shared.csv")))
    if a.limit:
        rows = rows[: a.limit]
    samples = [Sample(id=r["video_path"].replace("/", "__"), models={"official_clips": str(shared / r["video_path"])}) for r in rows]
    store = run(Manifest(samples), RunConfig(metrics=list(COLS.values()), out_dir=a.out, workers=a.workers, reports=False))
    n_ok = n_all = 0
    print(f"{'clip':58s} " + " ".join(f"{k[:14]:>16s}" for k in COLS))
    for r, s in zip(rows, samples):
        cells = []
        for col, metric in COLS.items():
            ref = float(r[col])
            rec = store.get("official_clips", s.id, metric)
            ours = rec.value if rec is not None and rec.status == "ok" else float("nan")
            if math.isnan(ref) and math.isnan(ours):
                cells.append("both NaN")
                n_ok += 1
            elif math.isnan(ref) or math.isnan(ours):
                cells.append(f"ref {ref:.3g}/ours {ours:.3g}")
            else:
                rel = (ours - ref) / abs(ref)
                cells.append(f"{rel:+.2%}")
                n_ok += abs(rel) <= 0.01
            n_all += 1
        print(f"{r['video_path'][-58:]:58s} " + " ".join(f"{c:>16s}" for c in cells))
    print(f"\nwithin 1 %: {n_ok}/{n_all}")


if __name__ == "__main__":
    main()
