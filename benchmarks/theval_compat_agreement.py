"""Compare avatar-eval's THEval compat variants with the official THEval numbers.

    python benchmarks/theval_compat_agreement.py [--shared ../shared] [--reference CSV ...]
        [--variants /work/scratch/variants] [--out runs/compat_agreement] [-j 2]

``--reference`` (repeatable) names CSVs of official values (official scripts, mediapipe 0.10.21,
silero-vad 5.1.2, one video per process); default: ../shared/reference/theval_official_on_shared.csv.
Columns: ``video_path``, the four metric columns, and optionally ``clip_kind`` / ``kind_group``
(benchmarks/data/theval_official_on_variants.csv: the variant clips of
benchmarks/make_theval_variants.py). ``video_path`` is relative to ``--shared`` (``data/...``) or,
for ``variants/<name>``, to ``--variants``. Runs the four compat metrics on those clips and prints
the relative difference per clip and metric, then per metric and per clip kind: how many agree
within 1 %, how many are bit-identical (same float), and the worst.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import RunConfig, run

COLS = {
    "lip_dynamics": "theval.lip_dynamics.compat",
    "eyebrow_dynamics": "theval.eyebrow_dynamics.compat",
    "silent_lip_stability": "theval.silent_lip_stability.compat",
    "lip_sync": "theval.lip_sync.compat",
}
HERE = Path(__file__).resolve().parent


def _kind(row: dict) -> str:
    if row.get("kind_group"):
        return row["kind_group"]
    p = row["video_path"]
    return "shared GRID .mpg" if p.endswith(".mpg") else "shared mp4"


def _resolve(p: str, shared: Path, variants: Path) -> Path:
    if p.startswith("variants/"):
        return variants / p.split("/", 1)[1]
    q = Path(p)
    return q if q.is_absolute() else shared / q


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(HERE.parents[0].parent / "shared"))
    ap.add_argument("--reference", action="append", default=None,
                    help="CSV of official values (repeatable; default: the shared reference)")
    ap.add_argument("--variants", default="/work/scratch/variants", help="folder of the variant clips")
    ap.add_argument("--out", default="runs/compat_agreement")
    ap.add_argument("-j", "--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    shared, variants = Path(a.shared), Path(a.variants)
    refs = a.reference or [str(shared / "reference" / "theval_official_on_shared.csv")]
    rows: list[dict] = []
    for ref in refs:
        with open(ref, newline="") as fh:
            for r in csv.DictReader(fh):
                r["_path"] = str(_resolve(r["video_path"], shared, variants))
                rows.append(r)
    if a.limit:
        rows = rows[: a.limit]
    missing = [r["_path"] for r in rows if not Path(r["_path"]).exists()]
    if missing:
        raise SystemExit(f"{len(missing)} clips not found, e.g. {missing[0]} (make them: benchmarks/make_theval_variants.py)")
    samples = [Sample(id=r["video_path"].replace("/", "__"), models={"official_clips": r["_path"]}) for r in rows]
    store = run(Manifest(samples), RunConfig(metrics=list(COLS.values()), out_dir=a.out, workers=a.workers, reports=False))

    per_metric: dict[str, list] = defaultdict(list)  # col -> [(kind, rel or None, ok, exact)]
    print(f"{'clip':58s} " + " ".join(f"{k[:14]:>16s}" for k in COLS))
    for r, s in zip(rows, samples):
        cells = []
        for col, metric in COLS.items():
            ref = float(r[col])
            rec = store.get("official_clips", s.id, metric)
            ours = rec.value if rec is not None and rec.status == "ok" else float("nan")
            if math.isnan(ref) and math.isnan(ours):
                cells.append("both NaN")
                per_metric[col].append((_kind(r), 0.0, True, True))
            elif math.isnan(ref) or math.isnan(ours):
                cells.append(f"ref {ref:.3g}/ours {ours:.3g}")
                per_metric[col].append((_kind(r), None, False, False))
            else:
                rel = (ours - ref) / abs(ref) if ref != 0 else (0.0 if ours == 0 else math.inf)
                cells.append(f"{rel:+.3%}")
                per_metric[col].append((_kind(r), rel, abs(rel) <= 0.01, ours == ref))
        print(f"{r['video_path'][-58:]:58s} " + " ".join(f"{c:>16s}" for c in cells))

    def summary(items: list) -> str:
        ok = sum(i[2] for i in items)
        exact = sum(i[3] for i in items)
        rels = [abs(i[1]) for i in items if i[1] is not None]
        worst = f"{max(rels):.2%}" if rels else "-"
        bad = sum(i[1] is None for i in items)
        return f"{ok}/{len(items)} within 1 %, {exact} identical, worst {worst}" + (f", {bad} NaN mismatch" if bad else "")

    print("\nper metric:")
    n_ok = n_all = 0
    for col, items in per_metric.items():
        print(f"  {col:22s} {summary(items)}")
        n_ok += sum(i[2] for i in items)
        n_all += len(items)
    print("\nper clip kind:")
    kinds = list(dict.fromkeys(i[0] for items in per_metric.values() for i in items))
    for k in kinds:
        print(f"  {k}")
        for col, items in per_metric.items():
            print(f"      {col:22s} {summary([i for i in items if i[0] == k])}")
    print(f"\nwithin 1 %: {n_ok}/{n_all}")


if __name__ == "__main__":
    main()
