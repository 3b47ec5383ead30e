"""Weight-free talking-head / co-speech extras (issue 17): blink statistics, landmark distance,
beat alignment and CPBD sharpness. Definitions, references and units: docs/extras.md; formulas in
``metrics/functional/{blink,landmark_distance,beat_alignment,sharpness}.py``.

Everything is read from the clip's one decode pass: the ``face_mesh`` track (blink, LMD, face box
of CPBD), ``region_tracks`` (Pose + Hands for BAS), ``audio16k``, and two cheap frame artifacts
registered here: ``sharpness.cpbd_blocks`` (per-frame CPBD block counts) and ``frame_motion``
(mean absolute grey-level change between consecutive frames).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MetricUndefined
from ..options import ExtrasOptions, family_options
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from ..pipeline.builtin_artifacts import require_audio
from ..pipeline.flags import STILL_DIFF
from ..regions import artifacts as _region_artifacts  # noqa: F401  (registers region_tracks)
from .base import Metric, MetricValue
from .functional import beat_alignment as BA
from .functional import blink as BL
from .functional import landmark_distance as LMD
from .functional import motion as MO
from .functional import sharpness as SH
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext, PairContext


# ------------------------------------------------------------------------------ frame artifacts
class CPBDBlocksAnalyzer(FrameAnalyzer):
    """Per frame, per 64×64 block: measured edge pixels and those with blur not detected."""

    def __init__(self, ctx: ClipContext):
        super().__init__(ctx)
        self.stride = max(1, family_options(ctx.options, ExtrasOptions).cpbd_stride) if ctx is not None else 1
        self.total: list[np.ndarray] = []
        self.sharp: list[np.ndarray] = []
        self.indices: list[int] = []

    def update(self, frame: Frame) -> None:
        if frame.index % self.stride:
            return
        t, s = SH.cpbd_blocks(SH.luma(frame.rgb))
        self.total.append(t.astype(np.int32))
        self.sharp.append(s.astype(np.int32))
        self.indices.append(frame.index)

    def finalize(self) -> dict:
        if not self.total:
            z = np.zeros((0, 0, 0), dtype=np.int32)
            return {"total": z, "sharp": z, "frame_indices": np.zeros(0, dtype=np.int64), "block": SH.BLOCK}
        return {"total": np.stack(self.total), "sharp": np.stack(self.sharp),
                "frame_indices": np.asarray(self.indices, dtype=np.int64), "block": SH.BLOCK}


register_frame_artifact(
    "sharpness.cpbd_blocks", CPBDBlocksAnalyzer,
    "CPBD counts per frame and 64×64 block of the full frame (measured edge pixels, pixels with blur "
    "not detected); options['cpbd_stride'] keeps every n-th frame (default 1).",
)


class FrameMotionAnalyzer(FrameAnalyzer):
    """Mean |Δ grey| (0–255) between consecutive frames, on every 4th pixel in each direction."""

    def __init__(self, ctx: ClipContext):
        super().__init__(ctx)
        self.prev: np.ndarray | None = None
        self.diffs: list[float] = []

    def update(self, frame: Frame) -> None:
        g = SH.luma(frame.rgb[::4, ::4]).astype(np.int16)
        if self.prev is not None:
            self.diffs.append(float(np.abs(g - self.prev).mean()) if g.shape == self.prev.shape else float("inf"))
        self.prev = g

    def finalize(self) -> np.ndarray:
        return np.asarray(self.diffs, dtype=np.float64)


register_frame_artifact(
    "frame_motion", FrameMotionAnalyzer,
    "(T−1,) mean absolute grey-level change (0–255) between frames i and i+1 (every 4th pixel).",
)


# ------------------------------------------------------------------------------ helpers
class _Extra(Metric):
    protocol = "extras"


def _face_px(ctx: ClipContext, at_least: int = 1) -> np.ndarray:
    t = ctx.get("face_mesh")
    if t.n_present < at_least:
        raise MetricUndefined(f"face found in {t.n_present} of {t.n_frames} frames (need ≥ {at_least})")
    return t.pixels()


# ------------------------------------------------------------------------------ blink
_BLINK: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # ctx -> stats (both blink metrics)


def _blink(ctx: ClipContext) -> dict:
    if ctx not in _BLINK:
        px = _face_px(ctx, 2)
        e = BL.ear(px)
        st = BL.blink_stats(e, ctx.fps)
        st.update(ear_median=float(np.nanmedian(e)), threshold=BL.EAR_THRESHOLD, min_frames=BL.MIN_FRAMES,
                  n_frames=int(e.size), n_face_frames=int(np.isfinite(e).sum()))
        _BLINK[ctx] = st
    return _BLINK[ctx]


@register
class BlinkRate(_Extra):
    version = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "blink.rate"
    family = "blink"
    quantity = "rate"
    estimator = "face-mesh"
    display = "Blink rate"
    requires = ("face_mesh",)
    units = "blinks/min"
    description = "Blinks per minute: runs of ≥ 2 frames with eye aspect ratio < 0.2 (Face Mesh EAR, both eyes)."

    def compute(self, ctx):
        st = _blink(ctx)
        return MetricValue(st["rate_per_min"], {k: v for k, v in st.items() if k != "rate_per_min"})


@register
class BlinkDuration(_Extra):
    version = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "blink.duration"
    family = "blink"
    quantity = "duration"
    estimator = "face-mesh"
    display = "Blink duration"
    requires = ("face_mesh",)
    units = "s"
    description = "Mean blink duration (closed frames / fps); undefined without a blink."

    def compute(self, ctx):
        st = _blink(ctx)
        if st["n_blinks"] == 0:
            raise MetricUndefined(f"no blink in {st['n_frames']} frames (EAR never < {BL.EAR_THRESHOLD} "
                                  f"for ≥ {BL.MIN_FRAMES} frames): mean duration undefined")
        return MetricValue(st["mean_duration_s"], {k: v for k, v in st.items() if k != "mean_duration_s"})


# ------------------------------------------------------------------------------ landmark distance
class _LMD(_Extra):
    version = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
    level = "pair"
    higher_is_better = False
    requires = ("face_mesh",)
    units = "IOD"
    indices: tuple[int, ...] = ()

    def compute_pair(self, pair: PairContext):
        gt = _face_px(pair.gt)
        gen = _face_px(pair.gen)
        val, det = LMD.lmd(gt, gen, self.indices)
        if not np.isfinite(val):
            raise MetricUndefined("no frame with a face in both the GT and the generated clip")
        return MetricValue(val, det)


@register
class MouthLMD(_LMD):
    name = "landmarks.lmd.mouth"
    family = "landmarks"
    quantity = "lmd"
    region = "mouth"
    estimator = "face-mesh"
    display = "M-LMD"
    indices = LMD.MOUTH
    description = "M-LMD: mean L2 of the 40 lip points, GT vs generated, per frame centred and scaled to IOD = 1."


@register
class FaceLMD(_LMD):
    name = "landmarks.lmd.face"
    family = "landmarks"
    quantity = "lmd"
    region = "face"
    estimator = "face-mesh"
    display = "F-LMD"
    indices = LMD.FACE
    description = "F-LMD: mean L2 of the 468 mesh points, GT vs generated, per frame centred and scaled to IOD = 1."


# ------------------------------------------------------------------------------ beat alignment
#: Pose points used as BAS joints: nose, shoulders, elbows, wrists (visibility ≥ 0.5), plus all
#: 42 hand points where Hands found them
POSE_JOINTS: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16)
MIN_VISIBILITY = 0.5
#: a transition whose frames differ by less than this (mean |Δ grey|, 0–255) is a still image:
#: its landmark "speed" is tracker jitter and counts as 0
STILL_FRAME_DIFF = STILL_DIFF  # one rule for "this frame did not change" (pipeline/flags.py)


def body_joints(tracks) -> tuple[np.ndarray, np.ndarray]:
    """(T, 49, 2) pose + hand joints in px and (T, 49) validity."""
    pose = tracks.pose.astype(np.float64)
    hands = tracks.hands[:, :, :, :2].reshape(tracks.n_frames, 42, 2).astype(np.float64)
    xy = np.concatenate([pose[:, list(POSE_JOINTS), :2], hands], axis=1)
    vis = pose[:, list(POSE_JOINTS), 3]
    valid = np.concatenate([np.nan_to_num(vis, nan=0.0) >= MIN_VISIBILITY,
                            np.isfinite(hands[:, :, 0])], axis=1) & np.isfinite(xy).all(axis=-1)
    return xy, valid


@register
class BeatAlignment(_Extra):
    name = "beat.alignment"
    family = "beat"
    quantity = "alignment"
    estimator = "mediapipe-pose"
    display = "Beat alignment (BAS)"
    higher_is_better = True
    requires = ("region_tracks", "frame_motion", "audio16k")
    units = ""
    description = ("Bailando/EDGE BAS: mean over audio onsets of exp(−d²/18), d = frames to the nearest local "
                   "minimum of the σ=5-smoothed mean joint speed (Pose upper body + Hands).")

    def compute(self, ctx):
        require_audio(ctx)
        tr = ctx.get("region_tracks")
        xy, valid = body_joints(tr)
        if valid.sum(axis=1).max(initial=0) == 0:
            raise MetricUndefined("no body joint visible in any frame: no motion beats")
        speed = BA.joint_speed(xy, valid)
        motion = ctx.get("frame_motion")
        n = min(speed.size, motion.size)
        speed, still = speed[:n], motion[:n] < STILL_FRAME_DIFF
        speed = np.where(still, 0.0, speed)
        if still.all():
            raise MetricUndefined("the video does not move (every frame equals the previous one): no motion beats")
        mb = BA.motion_beats(speed)
        if mb.size == 0:
            raise MetricUndefined("no local minimum of the smoothed joint speed: no motion beats")
        wav, sr = ctx.get("audio16k")
        ab = BA.onset_frames(wav, sr, ctx.fps, n_frames=tr.n_frames)
        if ab.size == 0:
            raise MetricUndefined("no onset detected in the audio: no audio beats")
        return MetricValue(BA.beat_alignment(ab, mb), {
            "n_audio_beats": int(ab.size), "n_motion_beats": int(mb.size),
            "n_still_transitions": int(still.sum()), "n_transitions": int(n),
            "joints_per_frame": float(valid.sum(axis=1).mean()),
        })


# ------------------------------------------------------------------------------ CPBD
def _cpbd_per_frame(blocks: dict, masks: np.ndarray | None = None) -> np.ndarray:
    tot, sh = blocks["total"].astype(np.int64), blocks["sharp"].astype(np.int64)
    if masks is not None:
        tot, sh = tot * masks, sh * masks
    n = tot.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, sh.sum(axis=(1, 2)) / np.maximum(n, 1), np.nan)


def _mean_defined(per_frame: np.ndarray, what: str) -> MetricValue:
    ok = np.isfinite(per_frame)
    if not ok.any():
        raise MetricUndefined(f"{what}: no 64×64 edge block with a measurable edge in any frame")
    return MetricValue(float(per_frame[ok].mean()), {
        "n_frames_measured": int(ok.sum()), "n_frames": int(per_frame.size),
        "per_frame_min": float(per_frame[ok].min()), "per_frame_max": float(per_frame[ok].max())})


@register
class CPBD(_Extra):
    name = "sharpness.cpbd"
    family = "sharpness"
    quantity = "cpbd"
    display = "CPBD"
    higher_is_better = True
    requires = ("sharpness.cpbd_blocks",)
    units = ""
    description = "CPBD sharpness (Narvekar & Karam 2011), full frame, mean over frames (0–1, higher = sharper)."

    def compute(self, ctx):
        return _mean_defined(_cpbd_per_frame(ctx.get("sharpness.cpbd_blocks")), "CPBD")


@register
class CPBDFace(_Extra):
    version = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "sharpness.cpbd.face"
    family = "sharpness"
    quantity = "cpbd"
    region = "face"
    estimator = "face-mesh"
    display = "CPBD (face)"
    higher_is_better = True
    requires = ("sharpness.cpbd_blocks", "face_mesh")
    units = ""
    description = ("CPBD over the frame's 64×64 blocks lying ≥ 50 % inside the Face Mesh landmark box, "
                   "mean over frames with a face.")

    def compute(self, ctx):
        b = ctx.get("sharpness.cpbd_blocks")
        px = _face_px(ctx)
        idx = b["frame_indices"]
        fi = ctx.get("face_mesh").frame_indices
        where = {int(f): i for i, f in enumerate(fi)}
        nby, nbx = b["total"].shape[1:] if b["total"].ndim == 3 else (0, 0)
        masks = np.zeros((idx.size, nby, nbx), dtype=np.int64)
        for k, f in enumerate(idx):
            i = where.get(int(f))
            if i is None or not np.isfinite(px[i, 0, 0]):
                continue
            p = px[i, :468]
            box = (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())
            masks[k] = SH.blocks_in_box((nby, nbx), np.asarray(box))
        v = _mean_defined(_cpbd_per_frame(b, masks), "CPBD (face)")
        v.details["n_face_blocks_mean"] = float(masks.sum(axis=(1, 2)).mean()) if idx.size else 0.0
        return v


# ------------------------------------------------------------------------------ motion energy / diversity
def _still_transitions(ctx: ClipContext, frame_indices: np.ndarray) -> np.ndarray:
    """(len(frame_indices) − 1,) True where track entry k is the frame right after entry k−1 and the
    two frames do not differ (mean |Δ grey| < STILL_FRAME_DIFF): its landmarks are held."""
    motion = ctx.get("frame_motion")
    fi = np.asarray(frame_indices, dtype=np.int64)
    out = np.zeros(max(fi.size - 1, 0), dtype=bool)
    for k in range(1, fi.size):
        i = int(fi[k]) - 1
        out[k - 1] = fi[k] == fi[k - 1] + 1 and 0 <= i < motion.size and motion[i] < STILL_FRAME_DIFF
    return out


def _face_motion(ctx: ClipContext) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Held face points (T, 468, 2) px, their head pose (T, 3) deg, the median IOD (px), still mask."""
    t = ctx.get("face_mesh")
    if t.n_present < 2:
        raise MetricUndefined(f"face found in {t.n_present} of {t.n_frames} frames (need ≥ 2)")
    from .functional import theval as TF

    still = _still_transitions(ctx, t.frame_indices)
    xyz = t.landmarks[:, :468].astype(np.float64) * np.array([t.src_width, t.src_height, t.src_width])
    xyz[~t.present] = np.nan
    xyz = MO.hold_still(xyz, still)
    pose = np.full((t.n_frames, 3), np.nan)
    pres = np.isfinite(xyz[:, 0, 0])
    pose[pres] = TF.mesh_head_pose(xyz[pres])
    a, b = LMD.IOD_PAIR
    iod = float(np.nanmedian(np.linalg.norm(xyz[:, a, :2] - xyz[:, b, :2], axis=-1)))
    return xyz[:, :, :2], pose, iod, still


def _body_motion(ctx: ClipContext, hands: bool) -> tuple[np.ndarray, float, np.ndarray]:
    """Held body (Pose upper body) or hand points (T, J, 2) px with NaN where not found, the median
    shoulder width (px), still mask."""
    tr = ctx.get("region_tracks")
    xy, valid = body_joints(tr)
    pts = np.where(valid[..., None], xy, np.nan)
    pts = pts[:, len(POSE_JOINTS):] if hands else pts[:, :len(POSE_JOINTS)]
    pose = tr.pose.astype(np.float64)
    sh_ok = (np.nan_to_num(pose[:, 11, 3]) >= MIN_VISIBILITY) & (np.nan_to_num(pose[:, 12, 3]) >= MIN_VISIBILITY)
    if not sh_ok.any():
        raise MetricUndefined("no frame with both shoulders visible: no body scale (a head-only crop?)")
    sw = float(np.median(np.linalg.norm(pose[sh_ok, 11, :2] - pose[sh_ok, 12, :2], axis=-1)))
    still = _still_transitions(ctx, np.arange(tr.n_frames))
    return MO.hold_still(pts, still), sw, still


class _Motion(_Extra):
    higher_is_better = None  # descriptive: compare with GT
    version = "1"


@register
class HeadMotionEnergy(_Motion):
    version = "3"  # v1 read the face_mesh track before it held still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "motion.energy.head"
    family = "motion"
    quantity = "energy"
    region = "head"
    estimator = "face-mesh"
    display = "Head motion energy"
    requires = ("face_mesh", "frame_motion")
    units = "IOD/s"
    description = ("Mean speed of the face's 468-point centroid in the image, in median inter-ocular distances per "
                   "second (still frames held).")

    def compute(self, ctx):
        px, _, iod, still = _face_motion(ctx)
        # the centroid, not the mesh pose angles: averaging 468 points keeps tracker jitter small (on the
        # shipped clips a σ = 1-frame smoothing lowers it by 10 %, the angular speed by 35 %)
        v, n = MO.energy(px.mean(axis=1), ctx.fps, iod)
        if n == 0:
            raise MetricUndefined("no two consecutive frames with a face")
        return MetricValue(v, {"n_transitions": n, "n_still_transitions": int(still.sum()), "iod_px": iod})


@register
class MouthMotionEnergy(_Motion):
    version = "3"  # v1 read the face_mesh track before it held still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "motion.energy.mouth"
    family = "motion"
    quantity = "energy"
    region = "mouth"
    estimator = "face-mesh"
    display = "Mouth motion energy"
    requires = ("face_mesh", "frame_motion")
    units = "IOD/s"
    description = ("Mean speed of the 40 lip points relative to the face (each frame centred and scaled to "
                   "IOD = 1, as LMD), in inter-ocular distances per second (still frames held).")

    def compute(self, ctx):
        px, _, _, still = _face_motion(ctx)
        lips = np.full((px.shape[0], len(LMD.MOUTH), 2), np.nan)
        ok = np.isfinite(px[:, 0, 0])
        lips[ok] = LMD.normalise(px[ok])[:, list(LMD.MOUTH)]
        v, n = MO.energy(lips, ctx.fps)
        if n == 0:
            raise MetricUndefined("no two consecutive frames with a face")
        return MetricValue(v, {"n_transitions": n, "n_still_transitions": int(still.sum())})


@register
class HeadPoseDiversity(_Motion):
    version = "3"  # v1 read the face_mesh track before it held still frames; v3: luma rule + key-frame refresh (issue 12)
    name = "motion.diversity.head"
    family = "motion"
    quantity = "diversity"
    region = "head"
    estimator = "face-mesh"
    display = "Head pose diversity"
    requires = ("face_mesh", "frame_motion")
    units = "deg"
    description = ("SadTalker-style head-motion diversity: mean over pitch/yaw/roll of their standard deviation "
                   "over frames (face-mesh pose instead of Hopenet; still frames held).")

    def compute(self, ctx):
        _, pose, _, still = _face_motion(ctx)
        v = MO.pose_diversity(pose)
        if not np.isfinite(v):
            raise MetricUndefined("fewer than 2 frames with a head pose")
        return MetricValue(v, {"pose_std_deg": [float(x) for x in np.nanstd(pose, axis=0)],
                               "n_still_transitions": int(still.sum()), "estimator": "mesh_pose"})


class _BodyEnergy(_Motion):
    requires = ("region_tracks", "frame_motion")
    units = "shoulder widths/s"
    hands = False

    def compute(self, ctx):
        pts, sw, still = _body_motion(ctx, self.hands)
        v, n = MO.energy(pts, ctx.fps, sw)
        if n == 0:
            raise MetricUndefined(f"no {'hand' if self.hands else 'body'} point found in two consecutive frames")
        return MetricValue(v, {"n_transitions": n, "n_still_transitions": int(still.sum()),
                               "shoulder_width_px": sw})


@register
class BodyMotionEnergy(_BodyEnergy):
    name = "motion.energy.body"
    family = "motion"
    quantity = "energy"
    region = "body"
    estimator = "mediapipe-pose"
    display = "Body motion energy"
    description = ("Mean speed of the Pose nose, shoulders, elbows and wrists (visibility ≥ 0.5), in median "
                   "shoulder widths per second (still frames held).")


@register
class HandMotionEnergy(_BodyEnergy):
    name = "motion.energy.hands"
    family = "motion"
    quantity = "energy"
    region = "hands"
    estimator = "mediapipe-hands"
    display = "Hand motion energy"
    hands = True
    description = "Mean speed of the 42 MediaPipe Hands points where found, in median shoulder widths per second."


@register
class BodyDiversity(_Motion):
    name = "motion.diversity.body"
    family = "motion"
    quantity = "diversity"
    region = "body"
    estimator = "mediapipe-pose"
    display = "Body pose diversity"
    requires = ("region_tracks", "frame_motion")
    units = "shoulder widths"
    description = ("sqrt(mean over the upper-body joints of the variance over frames of their position relative to "
                   "the shoulder midpoint), in median shoulder widths (still frames held).")

    def compute(self, ctx):
        pts, sw, still = _body_motion(ctx, False)
        tr = ctx.get("region_tracks")
        mid = MO.hold_still((tr.pose[:, 11, :2].astype(np.float64) + tr.pose[:, 12, :2]) / 2, still)
        v = MO.body_diversity(pts - mid[:, None, :], sw)
        if not np.isfinite(v):
            raise MetricUndefined("no upper-body joint found in 2 frames")
        return MetricValue(v, {"n_still_transitions": int(still.sum()), "shoulder_width_px": sw})


MOTION = ["motion.energy.head", "motion.energy.mouth", "motion.diversity.head"]
GESTURE_MOTION = ["motion.energy.body", "motion.energy.hands", "motion.diversity.body"]
TALKING_HEAD_EXTRAS = ["blink.rate", "blink.duration", "landmarks.lmd.mouth", "landmarks.lmd.face", "sharpness.cpbd.face",
                       "sharpness.cpbd", *MOTION]
GESTURE = ["beat.alignment", *GESTURE_MOTION]
register_suite("talking-head-extras", TALKING_HEAD_EXTRAS,
               "Weight-free talking-head extras: blink rate/duration, M-/F-LMD (pair), CPBD sharpness, head/mouth "
               "motion energy, head-pose diversity")
register_suite("gesture", GESTURE, "Co-speech gesture: beat alignment score (Bailando/EDGE), body/hand motion "
               "energy, body pose diversity")
