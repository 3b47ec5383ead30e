"""Hand-motion metrics of CyberHost: HKC (hand keypoint confidence) and HKV (hand keypoint
variance), from the shared hand tracks. Two estimators, named apart:

* ``hands.hkc.offline`` / ``hands.hkv.offline`` — MediaPipe Hands (bundled, offline) in the
  ``region_tracks`` artifact. MediaPipe gives one confidence per hand (the handedness score), not
  one per keypoint: HKC is the mean over frames × both hands of that confidence, 0 for a hand not
  found on a frame (the person's left and right hand from the Pose wrists).
* ``hands.hkc`` / ``hands.hkv`` — DWPose (ONNX, when its weights are present), the
  detector CyberHost used: HKC is the mean score of the 42 hand keypoints over frames.

HKV: temporal variance (ddof=0) of each hand keypoint's x and y over the frames where that hand
was found (DWPose: keypoint score > 0.3), averaged over keypoints, axes and hands, with positions
in units of the frame height (so a model rendering at another resolution than the GT is
comparable); ``details.hkv_px2`` gives it in source pixels². Higher = richer hand motion.
Details report both hands separately and the frames each used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import MetricUndefined
from ..regions import artifacts as _region_artifacts  # noqa: F401
from ..regions import dwpose as _dwpose_artifacts  # noqa: F401  (registers dwpose_tracks)
from .base import Metric, MetricValue
from .functional import hands as FH
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext

SIDES = ("left_hand", "right_hand")


def _mediapipe(ctx: "ClipContext"):
    t = ctx.get("region_tracks")
    if t.n_frames == 0:
        raise MetricUndefined("empty clip")
    return t.hands[..., :2], t.hand_score, t.height, t.n_frames


def _dwpose(ctx: "ClipContext", thr: float = 0.3):
    t = ctx.get("dwpose_tracks")
    if t.n_frames == 0:
        raise MetricUndefined("empty clip")
    pts = np.stack([t.part(s)[0] for s in SIDES], axis=1).astype(np.float64)  # (T, 2, 21, 2)
    sc = np.stack([t.part(s)[1] for s in SIDES], axis=1).astype(np.float64)  # (T, 2, 21)
    no_person = t.n_persons == 0
    sc[no_person] = 0.0
    pts = np.where((sc > thr)[..., None], pts, np.nan)
    return pts, sc, t.height, t.n_frames


class _HKC(Metric):
    family = "hands"
    protocol = "hands"
    quantity = "hkc"
    higher_is_better = True
    source = "mediapipe"

    def compute(self, ctx):
        pts, sc, H, T = (_mediapipe if self.source == "mediapipe" else _dwpose)(ctx)
        val = FH.hkc(sc)
        per = {s: FH.hkc(sc[:, i]) for i, s in enumerate(SIDES)}
        found = np.isfinite(pts).all(axis=-1).any(axis=-1) if pts.ndim == 4 else None
        d = {"n_frames": T, **{f"hkc_{s}": per[s] for s in SIDES}}
        if found is not None:
            d.update({f"frames_{s}": int(found[:, i].sum()) for i, s in enumerate(SIDES)})
        return MetricValue(val, d)


class _HKV(Metric):
    family = "hands"
    protocol = "hands"
    quantity = "hkv"
    higher_is_better = True
    source = "mediapipe"

    def compute(self, ctx):
        pts, sc, H, T = (_mediapipe if self.source == "mediapipe" else _dwpose)(ctx)
        pts = pts / float(H)  # positions in frame heights
        if self.source == "dwpose":
            # a hand counts on a frame when all its kept points exist: use per-keypoint NaNs
            vals = []
            for i in range(2):
                p = pts[:, i]
                ok = np.isfinite(p).all(axis=-1)
                v = [np.var(p[ok[:, k], k], axis=0).mean() for k in range(p.shape[1]) if ok[:, k].sum() >= 2]
                if v:
                    vals.append(float(np.mean(v)))
            per = {s: (vals[i] if i < len(vals) else float("nan")) for i, s in enumerate(SIDES)}
            if not vals:
                raise MetricUndefined("no hand keypoint with score > 0.3 on two frames")
            val = float(np.mean(vals))
            n_hands = len(vals)
        else:
            val, n_hands = FH.hkv(pts)
            per = {s: FH.hkv(pts[:, i : i + 1])[0] for i, s in enumerate(SIDES)}
            if not np.isfinite(val):
                raise MetricUndefined("no hand found on two frames")
        found = np.isfinite(pts[..., 0]).any(axis=-1)
        return MetricValue(val, {
            "n_frames": T, "n_hands": n_hands, "hkv_px2": val * float(H * H), "units": "frame height²",
            **{f"hkv_{s}": (per[s] if np.isfinite(per[s]) else None) for s in SIDES},
            **{f"frames_{s}": int(found[:, i].sum()) for i, s in enumerate(SIDES)},
        })


#: (name, class, estimator, variant): DWPose is CyberHost's estimator (paper); MediaPipe hands the
#: offline substitute (no downloaded weights). The name carries no region: HKC/HKV are of the hands.
_TABLE: tuple[tuple[str, type[Metric], str, str], ...] = (
    ("hands.hkc", _HKC, "dwpose", "paper"),
    ("hands.hkv", _HKV, "dwpose", "paper"),
    ("hands.hkc.offline", _HKC, "mediapipe", "offline"),
    ("hands.hkv.offline", _HKV, "mediapipe", "offline"),
)
_SOURCES = {"mediapipe": (("region_tracks",), ()),
            "dwpose": (("dwpose_tracks",), ("dwpose_yolox_l", "dwpose_ll_ucoco_384"))}
_WHAT = {"hkc": "HKC (CyberHost): mean hand keypoint confidence over frames and both hands",
         "hkv": "HKV (CyberHost): temporal variance of hand keypoint positions (frame heights²)"}
for _name, _cls, _src, _var in _TABLE:
    _req, _w = _SOURCES[_src]
    register(type(f"{_cls.__name__.strip('_')}_{_src}", (_cls,), dict(
        name=_name, version="1", source=_src, estimator={"mediapipe": "mediapipe-hands"}.get(_src, _src), requires=_req, weights=_w, variant=_var,
        description=f"{_WHAT[_cls.quantity]}, {_src}")))

register_suite("hands", ["hands.hkc.offline", "hands.hkv.offline", "hands.hkc", "hands.hkv"],
               "CyberHost hand metrics: HKC / HKV with MediaPipe (offline) and DWPose (ONNX weights)")
