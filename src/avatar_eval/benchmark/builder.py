"""Benchmark builder: annotate raw videos from one decode each, filter them, write a manifest.

``avatar-eval build-benchmark RAW_DIR --out BENCH`` (docs/benchmark.md) writes::

    BENCH/manifest.jsonl            id, gt, audio, reference_image, transcript, regions (accepted clips)
    BENCH/annotations/<id>.json     one per accepted sample (schema: docs/benchmark.md; also the
                                    sample's `regions` boxes file)
    BENCH/rejected/<id>.json        one per rejected clip: the reason and what was measured
    BENCH/rejected.jsonl            every rejected clip with its reason
    BENCH/videos/<id>.<ext>         the GT clip (hard link to the raw file when possible, else a copy)
    BENCH/audio/<id>.wav            its audio, 16 kHz mono PCM16
    BENCH/reference/<id>.png        the reference frame chosen by rule (benchmark/scan.py)
    BENCH/summary.json, summary.md  counts by category and by rejection reason
    BENCH/durations.png             histogram of the durations (accepted / rejected)

Per clip: the container is probed first (a clip that does not open, or whose duration is outside
``[min_duration, max_duration]`` or whose frame rate is not ``fps``, is rejected before any decode);
then ONE decode pass computes ``region_tracks`` (Pose, Hands, Face Mesh), ``frame_motion`` and
``benchmark.scan`` (reference frame, camera flow); the audio gives the VAD speech segments and the
transcript (faster-whisper tiny.en, word timestamps). Resume: a clip whose annotation (or
rejection) was made from the same file bytes (sha256) and the same settings is not redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AvatarEvalError, InputError
from ..pipeline.manifest import VIDEO_EXTS, file_digest

SCHEMA_VERSION = 1
REQUIREMENTS = ("face", "hands", "speech", "body")

# ---- thresholds (docs/benchmark.md states the reasons and the values measured on the test clips)
#: a clip "has a face" / "has hands" when found in at least this fraction of its frames
FACE_MIN_FRACTION = 0.9
HANDS_MIN_FRACTION = 0.2
#: a Pose joint counts as visible with MediaPipe visibility ≥ 0.5 and inside the frame
POSE_VISIBLE = 0.5
#: body category: majority vote over the frames where Pose found a body
BODY_MIN_FRACTION = 0.5
#: a clip "has speech" with at least this much VAD speech in total
SPEECH_MIN_S = 0.5
#: motion flags
HEAD_MOTION_THR = 0.05  # IOD/s: frozen clips read 0, the stillest real speaker (GRID) 0.12
HAND_MOTION_THR = 0.1  # shoulder widths/s
CAMERA_MOTION_THR = 0.04  # frame widths/s of background flow (a pan crossing the frame in 25 s); fixed
# cameras read 0.0004 (seated_woman_speaking) to 0.014 (GRID bbaf2n, MPEG-1 noise on a plain backdrop),
# a 1 px/frame pan of a 280-px frame at 25 fps 0.083 (0.089 by construction)
#: fps match tolerance for --fps
FPS_TOL = 0.01

_LOWER_BODY = (25, 26, 27, 28)  # knees, ankles
_SHOULDERS = (11, 12)
_HIPS = (23, 24)


@dataclass
class BuildSettings:
    min_duration: float = 3.0
    max_duration: float = 20.0
    require: tuple[str, ...] = ("face", "speech")
    fps: float | None = None
    asr_model: str | None = None
    vad_model: str = "silero-v5"

    def __post_init__(self) -> None:
        self.require = tuple(dict.fromkeys(r.strip() for r in self.require if r.strip()))
        bad = [r for r in self.require if r not in REQUIREMENTS]
        if bad:
            raise InputError(f"--require: unknown {', '.join(bad)} (known: {', '.join(REQUIREMENTS)})")
        if not 0 <= self.min_duration <= self.max_duration:
            raise InputError(f"durations: need 0 ≤ min ({self.min_duration}) ≤ max ({self.max_duration})")
        if self.fps is not None and not self.fps > 0:
            raise InputError(f"--fps must be > 0, got {self.fps}")

    def hash(self) -> str:
        d = asdict(self)
        d["thresholds"] = thresholds()
        d["schema"] = SCHEMA_VERSION
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def thresholds() -> dict[str, float]:
    from . import scan as S

    return {
        "face_min_fraction": FACE_MIN_FRACTION, "hands_min_fraction": HANDS_MIN_FRACTION,
        "pose_visible": POSE_VISIBLE, "body_min_fraction": BODY_MIN_FRACTION, "speech_min_s": SPEECH_MIN_S,
        "head_motion_iod_per_s": HEAD_MOTION_THR, "hand_motion_sw_per_s": HAND_MOTION_THR,
        "camera_motion_width_per_s": CAMERA_MOTION_THR, "fps_tolerance": FPS_TOL,
        "eyes_open_ear": S.EYES_OPEN_EAR, "mouth_closed_gap_iod": S.MOUTH_CLOSED_GAP,
        "frontal_nose_offset_iod": S.FRONTAL_NOSE_OFFSET, "frontal_max_roll_deg": S.FRONTAL_MAX_ROLL_DEG,
    }


@dataclass
class ClipOutcome:
    id: str
    source: str
    status: str  # "accepted" | "rejected"
    reason: str = ""
    reused: bool = False
    duration_s: float | None = None
    categories: dict[str, Any] = field(default_factory=dict)
    annotation: str | None = None


# ------------------------------------------------------------------------------ helpers
def find_videos(raw_dir: Path) -> dict[str, Path]:
    """Video files under ``raw_dir`` (recursively) by sample id: the file stem, made of
    [A-Za-z0-9_.-]; a stem repeated in two folders gets the relative folder prefixed (a__b)."""
    if not raw_dir.is_dir():
        raise InputError(f"not a folder: {raw_dir}")
    files = sorted(p for p in raw_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTS)
    if not files:
        raise InputError(f"no video ({', '.join(VIDEO_EXTS)}) under {raw_dir}")

    def clean(s: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("._") or "clip"

    stems: dict[str, int] = {}
    for p in files:
        stems[clean(p.stem)] = stems.get(clean(p.stem), 0) + 1
    out: dict[str, Path] = {}
    for p in files:
        sid = clean(p.stem)
        if stems[sid] > 1:
            sid = clean("__".join(p.relative_to(raw_dir).with_suffix("").parts))
        k, base = 2, sid
        while sid in out:
            sid, k = f"{base}_{k}", k + 1
        out[sid] = p
    return out


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=1, default=_jsonable) + "\n")
    os.replace(tmp, path)


def _jsonable(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _write_wav(path: Path, wav: np.ndarray, sr: int) -> None:
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pcm = (np.clip(np.asarray(wav, dtype=np.float64), -1, 1) * 32767).round().astype(np.int16)
    with open(tmp, "wb") as f:
        wavfile.write(f, sr, pcm)
    os.replace(tmp, path)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise InputError(f"could not write {path}")
    os.replace(tmp, path)


def _r(x: Any, n: int = 4) -> Any:
    if x is None:
        return None
    x = float(x)
    return round(x, n) if np.isfinite(x) else None


def _runs(mask: np.ndarray, times: np.ndarray) -> list[list[float]]:
    """[start_s, end_s] of each run of True frames (end = the last frame's time)."""
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if start is not None and (not m or i == len(mask) - 1):
            j = i if m else i - 1
            out.append([round(float(times[start]), 3), round(float(times[j]), 3)])
            start = None
    return out


# ------------------------------------------------------------------------------ measurements
def body_visibility(tracks: Any) -> dict[str, Any]:
    """Whole body / half body / head from Pose joint visibility (see the thresholds above)."""
    pose = np.asarray(tracks.pose, dtype=np.float64)
    W, H = tracks.width, tracks.height
    vis = (np.nan_to_num(pose[:, :, 3]) >= POSE_VISIBLE) & (pose[:, :, 0] >= 0) & (pose[:, :, 0] <= W) \
        & (pose[:, :, 1] >= 0) & (pose[:, :, 1] <= H)
    body = np.isfinite(pose[:, 0, 0])
    nb = int(body.sum())
    lower = vis[:, list(_LOWER_BODY)].any(axis=1) & vis[:, list(_HIPS)].any(axis=1)
    upper = vis[:, list(_SHOULDERS)].all(axis=1)
    f_lower = float(lower[body].mean()) if nb else 0.0
    f_upper = float(upper[body].mean()) if nb else 0.0
    if nb and f_lower >= BODY_MIN_FRACTION:
        cat = "whole_body"
    elif nb and f_upper >= BODY_MIN_FRACTION:
        cat = "half_body"
    else:
        cat = "head"
    return {"category": cat, "pose_frames": nb, "lower_body_fraction": round(f_lower, 4),
            "shoulders_fraction": round(f_upper, 4)}


def head_motion(ctx: Any, tracks: Any) -> tuple[float | None, dict]:
    """``motion.energy.head``'s definition (face centroid speed in median IODs per second, still
    frames held) on the region detector's Face Mesh track (the same 468 points; no second Face Mesh)."""
    from ..metrics.extras import _still_transitions
    from ..metrics.functional import motion as MO

    face = np.asarray(tracks.face, dtype=np.float64)
    if int(np.isfinite(face[:, 0, 0]).sum()) < 2:
        return None, {"why": "face in fewer than 2 frames"}
    still = _still_transitions(ctx, np.arange(tracks.n_frames))
    px = MO.hold_still(face, still)
    iod = float(np.nanmedian(np.linalg.norm(px[:, 33] - px[:, 263], axis=-1)))
    v, n = MO.energy(px.mean(axis=1), tracks.fps or ctx.fps, iod)
    return (v if n else None), {"n_transitions": n, "iod_px": round(iod, 2)}


def hand_motion(ctx: Any) -> tuple[float | None, str]:
    from ..errors import MetricUndefined
    from ..metrics.extras import HandMotionEnergy

    try:
        return float(HandMotionEnergy().compute(ctx).value), ""
    except MetricUndefined as e:
        return None, str(e)


def boxes_json(boxes: dict[str, Any]) -> dict[str, list]:
    """Per region, per frame [x0, y0, x1, y1] px (1 decimal), null where the region was not found."""
    out: dict[str, list] = {}
    for r, b in boxes.items():
        xy = b.xyxy
        out[r] = [[round(float(v), 1) for v in xy[t]] if b.present[t] and np.isfinite(xy[t]).all() else None
                  for t in range(b.n_frames)]
    return out


# ------------------------------------------------------------------------------ one clip
def annotate_clip(path: Path, sid: str, settings: BuildSettings, get_asr: Callable[[], Any], out: Path,
                  sha: str) -> tuple[dict[str, Any], dict[str, Any] | None, Any]:
    """Annotate one clip. Returns (annotation, rejection-or-None, ctx). Raises InputError when the
    clip cannot be read (the caller records it as rejected)."""
    from ..io.video import probe
    from ..metrics import extras as _extras  # noqa: F401  (registers frame_motion)
    from ..pipeline.context import ClipContext
    from . import scan as _scan  # noqa: F401  (registers benchmark.scan)

    info = probe(path)
    ann: dict[str, Any] = {
        "schema": SCHEMA_VERSION, "id": sid,
        "source": {"path": str(path), "sha256": sha, "size_bytes": info.size_bytes},
        "settings_hash": settings.hash(),
        "video": {"duration_s": _r(info.duration, 3), "fps": _r(info.fps, 4), "width": info.width,
                  "height": info.height, "n_frames_container": info.n_frames, "codec": info.codec,
                  "has_audio": info.has_audio},
    }
    # ---- filters on the container alone (no decode)
    if not info.duration > 0:
        return ann, {"reason": "duration unknown (the container does not say)"}, None
    if info.duration < settings.min_duration:
        return ann, {"reason": f"too short: {info.duration:.2f} s < min duration {settings.min_duration:g} s"}, None
    if info.duration > settings.max_duration:
        return ann, {"reason": f"too long: {info.duration:.2f} s > max duration {settings.max_duration:g} s"}, None
    if settings.fps is not None and abs(info.fps - settings.fps) > FPS_TOL * settings.fps:
        return ann, {"reason": f"frame rate {info.fps:.3f} fps ≠ required {settings.fps:g} fps"}, None
    if not info.has_audio:
        return ann, {"reason": "no audio track (an audio-driven benchmark needs the speech)"}, None

    ctx = ClipContext(str(path), sample_id=sid, model="gt", options={"theval": {"vad_model": settings.vad_model}})
    ctx.prepare(["region_tracks", "frame_motion", "benchmark.scan"])
    tracks = ctx.get("region_tracks")  # raises InputError when nothing decoded
    scan = ctx.get("benchmark.scan")
    T = tracks.n_frames
    times = np.asarray(tracks.times, dtype=np.float64)
    ann["video"]["n_frames_decoded"] = T

    # ---- audio, speech, transcript
    wav, sr = ctx.get("audio16k")
    segs = [(round(a, 3), round(b, 3)) for a, b in ctx.get("vad")]
    speech_s = float(sum(b - a for a, b in segs))
    has_speech = speech_s >= SPEECH_MIN_S
    tr = None
    if has_speech:
        tr = get_asr().transcribe((wav, sr))
    ann["speech"] = {"segments_s": [list(s) for s in segs], "speech_s": round(speech_s, 3),
                     "has_speech": has_speech, "vad": settings.vad_model}
    ann["transcript"] = None if tr is None else {
        "text": tr.text, "words": [[w.word, round(w.start, 3), round(w.end, 3), round(w.probability, 4)]
                                   for w in tr.words],
        "language": tr.language, "avg_logprob": _r(tr.avg_logprob), "flags": tr.flags,
        "model": {k: tr.model.get(k) for k in ("engine", "engine_version", "name", "source", "model_sha256")}}

    # ---- presence and boxes
    face_p = tracks.face_present
    hand_p = tracks.hand_present
    any_hand = hand_p.any(axis=1)
    face_frac = float(face_p.mean()) if T else 0.0
    hand_frac = float(any_hand.mean()) if T else 0.0
    body = body_visibility(tracks)
    boxes = ctx.get("region_boxes")
    ann["presence"] = {
        "face_fraction": round(face_frac, 4), "hands_fraction": round(hand_frac, 4),
        "left_hand_fraction": round(float(hand_p[:, 0].mean()), 4) if T else 0.0,
        "right_hand_fraction": round(float(hand_p[:, 1].mean()), 4) if T else 0.0,
        "has_face": face_frac >= FACE_MIN_FRACTION, "has_hands": hand_frac >= HANDS_MIN_FRACTION,
        "face_frames": face_p.astype(int).tolist(), "hand_frames": hand_p.astype(int).tolist(),
        "face_runs_s": _runs(face_p, times), "hands_runs_s": _runs(any_hand, times),
    }
    ann["body"] = body

    # ---- motion
    hm, hm_d = head_motion(ctx, tracks)
    hand_m, hand_why = hand_motion(ctx)
    flow = np.asarray(scan["bg_flow_px"], dtype=np.float64)
    ok = np.isfinite(flow)
    cam = float(np.median(flow[ok]) * ctx.fps / scan["flow_width"]) if ok.any() else None
    ann["motion"] = {
        "head_energy_iod_per_s": _r(hm), "head_moving": None if hm is None else bool(hm > HEAD_MOTION_THR),
        "hand_energy_sw_per_s": _r(hand_m), "hands_moving": None if hand_m is None else bool(hand_m > HAND_MOTION_THR),
        "hand_energy_undefined": hand_why or None,
        "camera_speed_width_per_s": _r(cam, 5), "camera_moving": None if cam is None else bool(cam > CAMERA_MOTION_THR),
        "camera_transitions_measured": int(ok.sum()), "camera_transitions": int(flow.size),
        "head_details": hm_d,
    }

    # ---- reference frame
    ref = dict(scan["reference"] or {})
    ann["reference"] = ref

    # ---- region boxes (the manifest `regions` format: regions/boxes.py load_manifest_boxes)
    ann["format"] = "xyxy"
    ann["normalized"] = False
    ann["boxes"] = boxes_json(boxes)
    ann["frame_times_s"] = [round(float(t), 4) for t in times]

    # ---- requirements
    fails = []
    if "face" in settings.require and not ann["presence"]["has_face"]:
        fails.append(f"face in {face_frac:.0%} of frames < {FACE_MIN_FRACTION:.0%}")
    if "hands" in settings.require and not ann["presence"]["has_hands"]:
        fails.append(f"hands in {hand_frac:.0%} of frames < {HANDS_MIN_FRACTION:.0%}")
    if "speech" in settings.require and not has_speech:
        fails.append(f"no speech: {speech_s:.2f} s of VAD speech < {SPEECH_MIN_S:g} s")
    if "body" in settings.require and body["category"] == "head":
        fails.append("body not visible (head only)")
    rej = {"reason": "; ".join(fails)} if fails else None
    if rej is None:
        if scan.get("reference_rgb") is None:
            rej = {"reason": "no frame decoded for the reference image"}
        else:
            ann["files"] = {
                "gt": f"videos/{sid}{path.suffix.lower()}", "audio": f"audio/{sid}.wav",
                "reference_image": f"reference/{sid}.png",
            }
            _link_or_copy(path, out / ann["files"]["gt"])
            _write_wav(out / ann["files"]["audio"], wav, sr)
            _write_png(out / ann["files"]["reference_image"], scan["reference_rgb"])
    ann["decode_count"] = ctx.decode_count
    ann["timings_s"] = {k: round(v, 3) for k, v in ctx.timings.items()}
    return ann, rej, ctx


def categories(ann: dict[str, Any]) -> dict[str, Any]:
    m = ann.get("motion", {})
    return {
        "body": ann.get("body", {}).get("category"),
        "speech": ann.get("speech", {}).get("has_speech"),
        "face": ann.get("presence", {}).get("has_face"),
        "hands": ann.get("presence", {}).get("has_hands"),
        "head_moving": m.get("head_moving"), "hands_moving": m.get("hands_moving"),
        "camera_moving": m.get("camera_moving"),
    }


# ------------------------------------------------------------------------------ the build
def _cached(out: Path, sid: str, sha: str, shash: str) -> tuple[str, dict] | None:
    for status, sub in (("accepted", "annotations"), ("rejected", "rejected")):
        p = out / sub / f"{sid}.json"
        if not p.is_file():
            continue
        try:
            d = json.loads(p.read_text())
        except ValueError:
            return None
        if d.get("source", {}).get("sha256") != sha or d.get("settings_hash") != shash:
            return None
        if status == "accepted" and not all((out / f).is_file() for f in d.get("files", {}).values()):
            return None
        return status, d
    return None


def build(raw_dir: str | Path, out: str | Path, settings: BuildSettings | None = None, *,
          asr: Any = None, progress: Callable[[ClipOutcome], None] | None = None) -> list[ClipOutcome]:
    """Annotate and filter every video under ``raw_dir`` into the benchmark folder ``out``."""
    settings = settings or BuildSettings()
    raw_dir, out = Path(raw_dir), Path(out)
    vids = find_videos(raw_dir)
    out.mkdir(parents=True, exist_ok=True)
    shash = settings.hash()
    holder: list[Any] = [asr]

    def get_asr() -> Any:  # loaded on the first clip with speech
        if holder[0] is None:
            holder[0] = _default_asr(settings)
        return holder[0]

    outcomes: list[ClipOutcome] = []
    anns: dict[str, dict] = {}
    for sid, path in vids.items():
        sha = file_digest(path)
        hit = _cached(out, sid, sha, shash)
        if hit is not None:
            status, d = hit
            oc = ClipOutcome(sid, str(path), status, d.get("reason", ""), True,
                             d.get("video", {}).get("duration_s"), categories(d))
        else:
            for sub in ("annotations", "rejected"):  # stale entries of this id
                (out / sub / f"{sid}.json").unlink(missing_ok=True)
            t0 = time.perf_counter()
            ctx = None
            try:
                d, rej, ctx = annotate_clip(path, sid, settings, get_asr, out, sha)
            except AvatarEvalError as e:
                d = {"schema": SCHEMA_VERSION, "id": sid,
                     "source": {"path": str(path), "sha256": sha}, "settings_hash": shash}
                rej = {"reason": f"unreadable: {e}"}
            finally:
                if ctx is not None:
                    ctx.release()
            d["elapsed_s"] = round(time.perf_counter() - t0, 2)
            if rej is None:
                _write_json(out / "annotations" / f"{sid}.json", d)
                status = "accepted"
            else:
                d["status"], d["reason"] = "rejected", rej["reason"]
                _write_json(out / "rejected" / f"{sid}.json", d)
                status = "rejected"
            oc = ClipOutcome(sid, str(path), status, d.get("reason", ""), False,
                             d.get("video", {}).get("duration_s"), categories(d))
        if status == "accepted":
            oc.annotation = f"annotations/{sid}.json"
            anns[sid] = d
        outcomes.append(oc)
        if progress is not None:
            progress(oc)
    # stale outputs of clips no longer in raw_dir are left alone but not listed
    _write_manifest(out, anns)
    _write_rejected(out, outcomes)
    write_summary(out, outcomes, settings)
    return outcomes


def _default_asr(settings: BuildSettings):
    from ..speech.asr import WhisperAsr

    return WhisperAsr(settings.asr_model, word_timestamps=True)


def _write_manifest(out: Path, anns: dict[str, dict]) -> None:
    lines = []
    for sid, d in anns.items():
        f = d["files"]
        row = {"id": sid, "gt": f["gt"], "audio": f["audio"], "reference_image": f["reference_image"],
               "transcript": (d.get("transcript") or {}).get("text") or "",
               "regions": f"annotations/{sid}.json"}
        lines.append(json.dumps(row, ensure_ascii=False))
    tmp = out / "manifest.jsonl.part"
    tmp.write_text("".join(line + "\n" for line in lines))
    os.replace(tmp, out / "manifest.jsonl")


def _write_rejected(out: Path, outcomes: list[ClipOutcome]) -> None:
    tmp = out / "rejected.jsonl.part"
    tmp.write_text("".join(json.dumps({"id": o.id, "source": o.source, "reason": o.reason,
                                       "duration_s": o.duration_s}, ensure_ascii=False) + "\n"
                           for o in outcomes if o.status == "rejected"))
    os.replace(tmp, out / "rejected.jsonl")


def write_summary(out: Path, outcomes: list[ClipOutcome], settings: BuildSettings) -> dict[str, Any]:
    acc = [o for o in outcomes if o.status == "accepted"]
    rej = [o for o in outcomes if o.status == "rejected"]
    counts: dict[str, dict[str, int]] = {}
    for o in acc:
        for k, v in o.categories.items():
            key = "undefined" if v is None else str(v)
            counts.setdefault(k, {})
            counts[k][key] = counts[k].get(key, 0) + 1
    reasons: dict[str, int] = {}
    for o in rej:
        kind = o.reason.split(":")[0]
        reasons[kind] = reasons.get(kind, 0) + 1
    durs = [o.duration_s for o in acc if o.duration_s is not None]
    summary = {
        "n_clips": len(outcomes), "n_accepted": len(acc), "n_rejected": len(rej),
        "n_reused": sum(o.reused for o in outcomes),
        "accepted_duration_s": round(float(sum(durs)), 2),
        "categories": counts, "rejection_reasons": reasons,
        "settings": asdict(settings), "thresholds": thresholds(),
    }
    _write_json(out / "summary.json", summary)
    md = ["# Benchmark summary\n", f"{len(outcomes)} clips: {len(acc)} accepted "
          f"({summary['accepted_duration_s']:.1f} s), {len(rej)} rejected.\n",
          "| category | value | clips |", "|---|---|---|"]
    for k, v in counts.items():
        for val, n in sorted(v.items()):
            md.append(f"| {k} | {val} | {n} |")
    if rej:
        md += ["", "| rejected clip | reason |", "|---|---|"]
        md += [f"| {o.id} | {o.reason} |" for o in rej]
    (out / "summary.md").write_text("\n".join(md) + "\n")
    _histogram(out / "durations.png", outcomes, settings)
    return summary


def _histogram(path: Path, outcomes: list[ClipOutcome], settings: BuildSettings) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = [o.duration_s for o in outcomes if o.status == "accepted" and o.duration_s is not None]
    rej = [o.duration_s for o in outcomes if o.status == "rejected" and o.duration_s is not None]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    allv = acc + rej
    bins = np.linspace(0, max(allv + [settings.max_duration]) * 1.05, 25) if allv else 10
    ax.hist([acc, rej], bins=bins, stacked=True, label=["accepted", "rejected"], color=["#3a7", "#c55"])
    for x in (settings.min_duration, settings.max_duration):
        ax.axvline(x, color="k", ls="--", lw=0.8)
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("clips")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
