"""Known-answer accuracy of the offline AV-offset metric (sync.av_offset / sync.av_confidence).

    python benchmarks/av_offset_accuracy.py [--shared ../shared] [--work /work/scratch/avoffset/bench]
                                            [--markdown out.md] [--extra]

For every real clip with speech in ``../shared/data/talking_head`` (incl. ``grid/``) and
``../shared/data/driven_pairs``, builds with PyAV (:mod:`avatar_eval.testing.variants`, H.264
CRF 18 + AAC) copies whose audio is shifted by 0, −0.5, −0.2, +0.2, +0.5 and +1.0 s
(``shift_audio``: positive = audio delayed, so the expected offset is ``+shift · fps`` frames in the
metric's convention) and one copy carrying another clip's audio (``swap_audio``), then runs the
metrics on each through a fresh :class:`~avatar_eval.pipeline.context.ClipContext` (Face Mesh and
all), with the default ±15-frame window and the ±30-frame one (``sync.av_offset_wide``).

Printed (Markdown): per shift, the fraction of clips whose estimate is within ±2 frames of the
nominal truth (``shift · fps``, i.e. assuming the source clip is itself in sync) and of the
*relative* truth (estimate on the 0-s copy + ``shift · fps``, which does not assume it); per clip,
every estimate; the unshifted offsets; and the confidence with swapped vs. own audio. ``--extra``
adds the unshifted offsets of clips that are in sync by construction or come from other sources
(``same_audio_6_models``: audio-driven generators; ``portraits/aoc_ref_audio_gt``; ``whole_body``).

Variant files and per-variant results are cached under ``--work`` (keyed by file size and mtime
and the metric versions): a rerun only recomputes what changed. Nothing is committed: some sources
are CC BY-NC (see ../shared/data/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

SHIFTS = (-0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
TOL = 2  # frames


def clips(shared: Path) -> list[Path]:
    d = shared / "data"
    out = sorted((d / "talking_head").glob("*.mp4")) + sorted((d / "talking_head" / "grid").glob("*.mpg"))
    return out + sorted((d / "driven_pairs").glob("*.mp4"))


def known_sync_clips(shared: Path) -> list[Path]:
    """Sources in sync by construction, chosen for how they were made (not for what they read):
    the lab-recorded GRID sentences and the six audio-driven generations of ``same_audio_6_models``
    (every frame is rendered from the audio at that time)."""
    d = shared / "data"
    return sorted((d / "talking_head" / "grid").glob("*.mpg")) + sorted((d / "same_audio_6_models").glob("*.mp4"))


def extra_clips(shared: Path) -> list[Path]:
    d = shared / "data"
    return (sorted((d / "same_audio_6_models").glob("*.mp4")) + sorted((d / "portraits" / "aoc_ref_audio_gt").glob("*.mp4"))
            + sorted((d / "whole_body").glob("*.mp4")))


def same_recording(a: Path, b: Path) -> bool:
    """Clips cut from one recording (same speech): the two Obama clips, the two AOC clips."""
    if a.parent.name == b.parent.name == "same_audio_6_models":  # one HDTF speech for all six
        return True
    return any(k in a.stem and k in b.stem for k in ("Obama", "AOC", "aragaki"))


def label(p: Path) -> str:
    parent = p.parent.name
    return f"{parent}/{p.stem}" if parent in ("grid", "same_audio_6_models", "aoc_ref_audio_gt", "whole_body") else p.stem


def measure(path: Path, cache: Path) -> dict:
    """sync.av_offset (±15), sync.av_confidence, sync.av_offset_wide (±30) on one file (cached)."""
    from avatar_eval.errors import MetricUndefined
    from avatar_eval.metrics import av_offset as M
    from avatar_eval.pipeline.context import ClipContext

    st = path.stat()
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "versions": [M.AVOffset.version, M.AVOffsetWide.version]}
    if cache.exists():
        old = json.loads(cache.read_text())
        if old.get("key") == key:
            return old["result"]
    ctx = ClipContext(video_path=str(path))
    res: dict = {"fps": ctx.fps}
    for name, metric in (("w15", M.AVOffset()), ("w30", M.AVOffsetWide())):
        try:
            mv = metric.compute(ctx)
            d = mv.details
            res[name] = {"offset": d["offset_frames"], "refined": d["offset_refined_frames"],
                         "confidence": d["confidence"], "z": d["z"], "edge": d["at_window_edge"]}
        except MetricUndefined as e:
            res[name] = {"undefined": str(e)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "result": res}))
    return res


def lip_sync(path: Path, cache: Path) -> float | str:
    """THEval's paper lip-sync (``theval.lip_sync``, lower = better aligned) on one file (cached)."""
    from avatar_eval.errors import MetricUndefined
    from avatar_eval.metrics.registry import get_metric_class
    from avatar_eval.pipeline.context import ClipContext

    lip_sync_cls = get_metric_class("theval.lip_sync")

    st = path.stat()
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "version": lip_sync_cls.version}
    if cache.exists():
        old = json.loads(cache.read_text())
        if old.get("key") == key:
            return old["result"]
    try:
        res: float | str = float(lip_sync_cls().compute(ClipContext(video_path=str(path))).value)
    except MetricUndefined as e:
        res = f"undefined: {e}"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "result": res}))
    return res


def build(src: Path, work: Path, kind: str, arg) -> Path:
    from avatar_eval.testing import variants as V

    dst = work / "clips" / label(src).replace("/", "__") / f"{kind}.mp4"
    if dst.exists() and dst.stat().st_mtime_ns >= src.stat().st_mtime_ns:
        return dst
    tmp = dst.with_name("." + dst.name)
    if kind.startswith("shift"):
        V.shift_audio(src, tmp, arg)
    else:
        V.swap_audio(src, arg, tmp)
    tmp.replace(dst)
    return dst


def fmt_est(r: dict, truth: float) -> str:
    if "undefined" in r:
        return "undef."
    ok = abs(r["offset"] - truth) <= TOL
    return f"{r['offset']:+d}{'' if ok else '✗'}"


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "—"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--work", type=Path, default=Path("/work/scratch/avoffset/bench"))
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables to this file")
    ap.add_argument("--extra", action="store_true", help="also measure the unshifted offsets of other clips")
    ap.add_argument("--known-sync", action="store_true",
                    help="also shift the six same_audio_6_models clips and print the accuracy on the sources in "
                         "sync by construction (GRID + same_audio_6_models) against the nominal truth")
    ap.add_argument("--lip-sync", action="store_true",
                    help="also measure THEval's paper lip-sync on the 0-s, +0.5-s and swapped copies")
    args = ap.parse_args(argv)
    if not (args.shared / "data").is_dir():
        print(f"{args.shared / 'data'} not found: the benchmark needs the shared test media", file=sys.stderr)
        return 2

    from avatar_eval.io.video import probe

    srcs = clips(args.shared)
    if args.known_sync:
        srcs += [p for p in known_sync_clips(args.shared) if p not in srcs]
    t0 = time.time()
    rows: dict[str, dict] = {}
    for _i, src in enumerate(srcs):
        name = label(src)
        row: dict = {"fps": probe(src).fps, "shifts": {}}
        for s in SHIFTS:
            p = build(src, args.work, f"shift{s:+.1f}", s)
            row["shifts"][s] = measure(p, args.work / "results" / (name.replace("/", "__") + f"__shift{s:+.1f}.json"))
        # another clip's audio: about half the list away (GRID clips get GRID or HDTF-style speech), never
        # the same recording (the two Obama clips share their audio) nor the driven pair (almost no speech)
        pool = clips(args.shared)  # swap partners from the base list, whatever --known-sync adds
        j = pool.index(src) if src in pool else 0
        order = pool[j + len(pool) // 2:] + pool[:j + len(pool) // 2]
        other = next(o for o in order if o != src and not same_recording(o, src) and o.parent.name != "driven_pairs")
        p = build(src, args.work, f"swap_{label(other).replace('/', '__')}", other)
        row["swap"] = measure(p, args.work / "results" / (name.replace("/", "__") + "__swap.json"))
        row["swap_from"] = label(other)
        rows[name] = row
        print(f"[{time.time() - t0:6.0f} s] {name}", file=sys.stderr, flush=True)

    out: list[str] = []
    defined = {n: r for n, r in rows.items() if "undefined" not in r["shifts"][0.0]["w15"]}
    skipped = {n: r["shifts"][0.0]["w15"]["undefined"] for n, r in rows.items() if n not in defined}
    out += ["### Accuracy per shift (within ±2 frames)", ""]
    out += [f"{len(defined)} clips with speech ({len(srcs)} measured; skipped as undefined: "
            + (", ".join(f"{n} ({why.split(': ', 1)[-1]})" for n, why in skipped.items()) or "none") + ").", ""]
    out += ["| audio shift | expected (frames) | ±15 window, vs nominal | ±30 window, vs nominal | "
            "±30 window, vs own 0-s estimate |", "|---|---|---|---|---|"]
    tot = {"w15": [0, 0], "w30": [0, 0], "rel": [0, 0]}
    for s in SHIFTS:
        k15 = k30 = kr = n = nr = 0
        for r in defined.values():
            truth = s * r["fps"]
            e15, e30, z30 = r["shifts"][s]["w15"], r["shifts"][s]["w30"], r["shifts"][0.0]["w30"]
            n += 1
            k15 += "offset" in e15 and abs(e15["offset"] - truth) <= TOL
            k30 += "offset" in e30 and abs(e30["offset"] - truth) <= TOL
            if s != 0.0 and "offset" in z30:
                nr += 1
                kr += "offset" in e30 and abs(e30["offset"] - z30["offset"] - truth) <= TOL
        exp = f"{s:+.1f} s × fps" if s else "0"
        out.append(f"| {s:+.1f} s | {exp} | {pct(k15, n)} | {pct(k30, n)} | {pct(kr, nr) if s else '—'} |")
        if abs(s) <= 0.5:
            tot["w15"][0] += k15
            tot["w15"][1] += n
        tot["w30"][0] += k30
        tot["w30"][1] += n
        tot["rel"][0] += kr
        tot["rel"][1] += nr
    out.append(f"| all | | {pct(*tot['w15'])} (shifts ≤ 0.5 s) | {pct(*tot['w30'])} | {pct(*tot['rel'])} |")

    if args.known_sync:
        ks = {label(p) for p in known_sync_clips(args.shared)} & set(defined)
        out += ["", "### Sources in sync by construction (GRID + same_audio_6_models), vs nominal", "",
                f"{len(ks)} clips. ±15 window for shifts up to 0.5 s (the default `sync.av_offset`), ±30 for +1.0 s "
                "(`sync.av_offset_wide`).", "", "| audio shift | within ±2 frames |", "|---|---|"]
        kt = [0, 0]
        for s in SHIFTS:
            w = "w30" if abs(s) > 0.5 else "w15"
            hits = [("offset" in defined[n]["shifts"][s][w]
                     and abs(defined[n]["shifts"][s][w]["offset"] - s * defined[n]["fps"]) <= TOL) for n in sorted(ks)]
            kt[0] += sum(hits)
            kt[1] += len(hits)
            out.append(f"| {s:+.1f} s | {pct(sum(hits), len(hits))} |")
        out.append(f"| all | {pct(*kt)} |")

    out += ["", "### Per clip (±30 window; ✗ = more than 2 frames from the nominal truth)", ""]
    out.append("| clip | fps | " + " | ".join(f"{s:+.1f} s" for s in SHIFTS) + " | 0 s, ±15 | confidence own / swapped (z) |")
    out.append("|---" * (len(SHIFTS) + 4) + "|")
    for name, r in rows.items():
        cells = [fmt_est(r["shifts"][s]["w30"], s * r["fps"]) for s in SHIFTS]
        own, sw = r["shifts"][0.0]["w15"], r["swap"]["w15"]
        conf = "undef." if "undefined" in own else (
            f"{own['confidence']:.2f} / " + ("undef." if "undefined" in sw else f"{sw['confidence']:.2f}")
            + f" ({own['z']:.1f} / " + ("—" if "undefined" in sw else f"{sw['z']:.1f}") + ")")
        out.append(f"| {name} | {r['fps']:.4g} | " + " | ".join(cells) + f" | {fmt_est(own, 0.0)} | {conf} |")

    zeros = [(n, r["shifts"][0.0]["w15"]) for n, r in defined.items()]
    n_in = sum(abs(e["offset"]) <= TOL for _, e in zeros)
    out += ["", "### Unshifted clips", "",
            f"|offset| ≤ 2 frames on {pct(n_in, len(zeros))} clips (±15 window). Others: "
            + (", ".join(f"{n} {e['offset']:+d} (conf {e['confidence']:.2f})" for n, e in zeros if abs(e['offset']) > TOL)
               or "none") + "."]

    pairs = [(r["shifts"][0.0]["w15"], r["swap"]["w15"]) for r in defined.values()]
    pairs = [(a, b) for a, b in pairs if "confidence" in a and "confidence" in b]
    lower = sum(b["confidence"] < a["confidence"] for a, b in pairs)
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else math.nan
    out += ["", "### Swapped audio", "",
            f"Confidence (±15 window) with the clip's own audio: median {med([a['confidence'] for a, _ in pairs]):.3f} "
            f"(z {med([a['z'] for a, _ in pairs]):.2f}); with another clip's audio: median "
            f"{med([b['confidence'] for _, b in pairs]):.3f} (z {med([b['z'] for _, b in pairs]):.2f}); "
            f"lower than the clip's own in {pct(lower, len(pairs))} clips."]

    if args.extra:
        out += ["", "### Other clips, unshifted (original files, no re-encode)", "", "| clip | fps | offset (±15) | confidence | z |",
                "|---|---|---|---|---|"]
        for src in extra_clips(args.shared):
            r = measure(src, args.work / "results" / ("extra__" + label(src).replace("/", "__") + ".json"))
            e = r["w15"]
            if "undefined" in e:
                out.append(f"| {label(src)} | {r['fps']:.4g} | undefined: {e['undefined'].split(': ', 1)[-1]} | | |")
            else:
                out.append(f"| {label(src)} | {r['fps']:.4g} | {e['offset']:+d} | {e['confidence']:.3f} | {e['z']:.2f} |")

    if args.lip_sync:
        out += ["", "### THEval paper lip-sync on the same copies (lower = better aligned)", "",
                "| clip | own audio | audio +0.5 s | swapped audio | worse when shifted | worse when swapped |",
                "|---|---|---|---|---|---|"]
        n_shift = n_swap = n = 0
        for src in srcs:
            name = label(src)
            if name not in defined:
                continue
            base = args.work / "results" / name.replace("/", "__")
            vals = [lip_sync(build(src, args.work, f"shift{s:+.1f}", s), Path(f"{base}__lipsync_shift{s:+.1f}.json"))
                    for s in (0.0, 0.5)]
            sw = next((args.work / "clips" / name.replace("/", "__")).glob("swap_*.mp4"))
            vals.append(lip_sync(sw, Path(f"{base}__lipsync_swap.json")))
            if all(isinstance(v, float) for v in vals):
                n += 1
                n_shift += vals[1] > vals[0]
                n_swap += vals[2] > vals[0]
                out.append(f"| {name} | {vals[0]:.4f} | {vals[1]:.4f} | {vals[2]:.4f} | "
                           f"{'yes' if vals[1] > vals[0] else '**no**'} | {'yes' if vals[2] > vals[0] else '**no**'} |")
            else:
                out.append(f"| {name} | " + " | ".join(v if isinstance(v, str) else f"{v:.4f}" for v in vals) + " | | |")
        out += ["", f"Worse with the audio delayed 0.5 s on {pct(n_shift, n)} clips; worse with swapped audio on "
                f"{pct(n_swap, n)} clips."]

    text = "\n".join(out) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
