"""Official THEval values at full precision, one process per clip, for the compat agreement.

    # in a venv with the official requirements (see docs/theval.md "How the official side was run")
    python benchmarks/theval_official_values.py driver --official /path/to/THEval \\
        --python /path/to/official-venv/bin/python --variants /tmp/variants \\
        --clips /tmp/variants/h*.mp4 ... --kinds-from heldout --out benchmarks/data/theval_official_heldout.csv

``driver`` runs ``clip`` mode once per clip with the official venv's Python; ``clip`` imports the
four official scripts (Newbyl/THEval @ cfe23fe: ``lip_dynamics``, ``eyebrow_dynamics``,
``silent_lip_stability``, ``lip_sync``) as modules — each keeps its own module-level Face Mesh,
fresh in every process, as when the script is run on a one-video list — and calls the same per-video
functions, in the same order and with the same guards, as each script's ``evaluate_videos`` /
``main`` loop, printing the values with ``repr`` (the scripts themselves print 4–6 decimals for two
of the metrics). Nothing of avatar-eval is imported in ``clip`` mode: the reference stays independent.

The CSV has the columns ``benchmarks/theval_compat_agreement.py --reference`` reads: ``video_path``
(``variants/<name>`` for clips under ``--variants``), the four metrics, ``kind_group``,
``clip_kind``, ``source``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "lip_dynamics": "Naturalness/lip_dynamics.py",
    "eyebrow_dynamics": "Naturalness/eyebrow_dynamics.py",
    "silent_lip_stability": "Synchronization/silent_lip_stability.py",
    "lip_sync": "Synchronization/lip_sync.py",
}
COLUMNS = list(SCRIPTS)


def _load(root: Path, rel: str):
    spec = importlib.util.spec_from_file_location(Path(rel).stem, root / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def clip_values(root: Path, video: str) -> dict[str, float | None]:
    """The four official values of one clip (NaN where the script writes NaN)."""
    import cv2  # the official venv's OpenCV
    import numpy as np

    out: dict[str, float | None] = {}
    mod = _load(root, SCRIPTS["lip_dynamics"])
    cap = cv2.VideoCapture(video)
    opened = cap.isOpened()
    cap.release()
    out["lip_dynamics"] = _num(mod.compute_mouth_diversity(video, method="std_over_time")) if opened else math.nan

    mod = _load(root, SCRIPTS["eyebrow_dynamics"])
    out["eyebrow_dynamics"] = _num(mod.compute_micro_expression_intensity(video))

    mod = _load(root, SCRIPTS["silent_lip_stability"])
    try:  # the script's main loop: an exception skips the clip (no row); here NaN
        audio = mod.extract_audio(video)
        if audio is None:
            out["silent_lip_stability"] = math.nan
        else:
            cap = cv2.VideoCapture(video)
            fps = cap.get(cv2.CAP_PROP_FPS)
            total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            cap.release()
            silence = mod.detect_silence_frames(audio_input=audio, frame_rate=fps, total_frames=total)
            out["silent_lip_stability"] = _num(mod.process_video(video, silence)) if silence else math.nan
    except Exception as exc:  # noqa: BLE001 - mirrors the script
        print(f"silent_lip_stability: {exc!r}", file=sys.stderr)
        out["silent_lip_stability"] = math.nan

    mod = _load(root, SCRIPTS["lip_sync"])
    try:  # evaluate_videos: an exception writes NaN
        y, sr, wav_path = mod.extract_audio(video)
        v = mod.process_video(video, y, sr, wav_path)
        out["lip_sync"] = _num(v)
        if os.path.exists(wav_path):
            os.remove(wav_path)
    except Exception as exc:  # noqa: BLE001 - mirrors the script
        print(f"lip_sync: {exc!r}", file=sys.stderr)
        out["lip_sync"] = math.nan
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in out.items()}


def _kinds(name: str) -> dict[str, tuple[str, str, str]]:
    """{clip file name: (kind_group, clip_kind, source)} from make_theval_variants.py."""
    sys.path.insert(0, str(HERE))
    import make_theval_variants as mv

    rows = {"main": mv.VARIANTS, "heldout": mv.HELDOUT, "heldout2": mv.HELDOUT2, "heldout3": mv.HELDOUT3,
            "heldout4": mv.HELDOUT4, "heldout5": mv.HELDOUT5, "heldout6": mv.HELDOUT6, "heldout7": mv.HELDOUT7}[name]
    return {n: (_group(kind), kind, src) for n, src, kind, _ in rows}


def _group(kind: str) -> str:
    k = kind.lower()
    for key, label in (("hevc in matroska", "HEVC MKV + Opus"), ("h.264 in matroska", "H.264 MKV"),
                       ("motion jpeg", "MJPEG AVI"), ("15 fps", "H.264 15 fps"), ("adelay", "H.264, delayed audio"),
                       ("96 khz", "H.264, 96 kHz audio"), ("vp8", "VP8 WebM"), ("interlaced", "H.264 interlaced"),
                       ("two audio", "H.264, two audio tracks"),
                       ("rotation", "H.264 rotated (display matrix)"), ("mpeg-ts", "H.264 MPEG-TS"),
                       ("flv", "H.264 FLV"), ("prores", "ProRes MOV"), ("high 10", "H.264 10-bit"),
                       ("4:2:2", "H.264 4:2:2"), ("4:4:4", "H.264 4:4:4 odd size"), ("variable frame rate", "H.264 VFR"),
                       ("5.1", "H.264, 5.1 audio"), ("8 khz", "H.264, 8 kHz audio"), ("bt.601", "H.264 bt601-tagged"),
                       ("60 fps", "H.264 60 fps"),
                       ("vp9", "VP9 WebM"), ("quicktime", "H.264 MOV"), ("matroska", "MPEG-4 part 2 MKV"),
                       ("hevc", "HEVC"), ("two faces", "two-face composite"), ("non-square", "H.264 non-square pixels"),
                       ("ntsc", "H.264 NTSC 30000/1001"), ("all-intra", "H.264 all-intra"),
                       ("crf 35", "H.264 heavily compressed"), ("bt709-tagged", "H.264 bt709-tagged")):
        if key in k:
            return label
    return "H.264 untagged"


def driver(a: argparse.Namespace) -> None:
    root, variants = Path(a.official).resolve(), Path(a.variants).resolve()
    kinds = _kinds(a.kinds_from) if a.kinds_from else {}
    rows = []
    for clip in [Path(c).resolve() for c in a.clips]:
        t = time.perf_counter()
        env = dict(os.environ)
        if a.torchaudio_standin:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE / "official_env"), env.get("PYTHONPATH")]))
        r = subprocess.run([a.python, str(Path(__file__).resolve()), "clip", "--official", str(root), str(clip)],
                           cwd=root, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise SystemExit(f"{clip.name}: exit {r.returncode}\n{r.stderr[-2000:]}")
        vals = json.loads(r.stdout.strip().splitlines()[-1])
        rel = f"variants/{clip.name}" if clip.parent == variants else str(clip)
        group, kind, src = kinds.get(clip.name, ("", "", ""))
        rows.append({"video_path": rel, **{c: ("NaN" if vals[c] is None else repr(vals[c])) for c in COLUMNS},
                     "kind_group": group, "clip_kind": kind, "source": src})
        print(f"{clip.name:52s} " + " ".join(f"{rows[-1][c]:>22s}" for c in COLUMNS)
              + f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    with open(a.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["video_path", *COLUMNS, "kind_group", "clip_kind", "source"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {a.out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("clip", help="(official venv) print one clip's four values as JSON")
    c.add_argument("--official", required=True)
    c.add_argument("video")
    d = sub.add_parser("driver", help="run `clip` once per clip and write the CSV")
    d.add_argument("--official", required=True, help="THEval checkout (cfe23fe)")
    d.add_argument("--python", required=True, help="the official venv's python")
    d.add_argument("--variants", default="/work/scratch/variants")
    d.add_argument("--kinds-from", choices=("main", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6",
                                                         "heldout7"), default=None)
    d.add_argument("--out", required=True)
    d.add_argument("--torchaudio-standin", action="store_true",
                   help="put benchmarks/official_env (a stand-in torchaudio for silero's read_audio) on PYTHONPATH")
    d.add_argument("clips", nargs="+")
    a = ap.parse_args()
    if a.mode == "clip":
        print(json.dumps(clip_values(Path(a.official), a.video)))
    else:
        driver(a)


if __name__ == "__main__":
    main()
