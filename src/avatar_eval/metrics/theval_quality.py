"""THEval quality dimensions that need pretrained networks (Newbyl/THEval ``Video_Quality/*.py``,
``Naturalness/head_motion_dynamics.py``).

* ``theval.global_aesthetics`` — pyiqa ``topiq_iaa`` on every frame (/255 tensors, batches of 64
  as the public code; the Swin input is resized to 384² inside pyiqa, so batching does not change
  a score), mean over frames.
* ``theval.face_quality`` — pyiqa ``topiq_nr-face`` on every frame; pyiqa detects, aligns and crops
  the face itself (facexlib). Frames where it finds no face are left out (their count is in the
  details). ``theval.face_quality.compat``: the public script's behaviour — one faceless frame makes
  the whole video NaN (its exception handler drops the video) → recorded as undefined.
* ``theval.mouth_quality`` — MUSIQ on the mouth crop: bounding box of the 40 lip landmarks
  (``int(x·W)``, ``int(y·H)``) + 10 px, clipped to the frame; each crop scored at its own size.
  Paper text: SPAQ checkpoint. ``theval.mouth_quality.compat``: the public code — pyiqa default
  ``musiq`` (KonIQ), crops of 64 consecutive faces zero-padded (top-left) to the largest crop of
  that batch before scoring. Both use Face Mesh as the public script does (static image mode,
  refine_landmarks off, full-resolution frames); frames without a face are left out.
* ``theval.head_motion`` — FaceXFormer head pose (degrees) on the face-box crop + the box centre
  (px): sqrt(mean(std p,y,r)·mean(var Δp,Δy,Δr) + mean(var cx, var cy)) from
  :func:`avatar_eval.metrics.functional.theval.head_motion_dynamics`. The public code detects the
  face with RetinaFace (TensorFlow, serengil/retina-face); here MediaPipe face detection (full
  range) gives the box — stated in the details. ``theval.head_motion.offline`` (another
  estimator, no weights) is in :mod:`avatar_eval.metrics.theval`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ..errors import MetricUndefined
from ..models import common as C
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from .base import Metric, MetricValue
from .functional.theval import LIP_INDICES, head_motion_dynamics
from .registry import register

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext

MOUTH_PAD = 10
COMPAT_BATCH = 64


def mouth_box(landmarks_norm: np.ndarray, width: int, height: int, pad: int = MOUTH_PAD) -> tuple[int, int, int, int]:
    """THEval ``calculate_bounding_box`` + ``crop_region``: (x_min, y_min, x_max, y_max), max exclusive."""
    pts = np.asarray(landmarks_norm)[list(LIP_INDICES)]
    xs = [int(x * width) for x in pts[:, 0]]
    ys = [int(y * height) for y in pts[:, 1]]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    return max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, width), min(y1 + pad, height)


def crop_box(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


# ---------------------------------------------------------------------------------------------
# analyzers
# ---------------------------------------------------------------------------------------------

class _Scores(FrameAnalyzer):
    batch = 64

    def __init__(self, ctx: "ClipContext"):
        super().__init__(ctx)
        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        self.scores: list[float] = []
        self.items: list[np.ndarray] = []
        self.n_frames = 0

    def update(self, frame):
        self.n_frames += 1
        self.items.append(frame.rgb)
        if len(self.items) >= self.batch:
            self._run()

    def _run(self):
        if self.items:
            items, self.items = self.items, []
            self.scores.extend(self.score(items))

    def score(self, items):
        raise NotImplementedError

    def finalize(self):
        self._run()
        return {"scores": np.asarray(self.scores, dtype=np.float64), "n_frames": self.n_frames}


class TopiqIAAAnalyzer(_Scores):
    def __init__(self, ctx):
        super().__init__(ctx)
        from ..models.topiq import W_IAA, load_topiq_iaa

        p = C.weight_path(W_IAA, C.option_path(self.opts, W_IAA))
        self.metric = C.cached_model(("topiq_iaa", C.file_key(p), self.device), lambda: load_topiq_iaa(p, self.device))

    def score(self, items):
        from ..models.musiq import score_images

        return score_images(self.metric, items, self.device)


class TopiqFaceAnalyzer(_Scores):
    batch = 1  # pyiqa's face alignment takes one image at a time

    def __init__(self, ctx):
        super().__init__(ctx)
        from ..models.topiq import W_FACE, load_topiq_face

        p = C.weight_path(W_FACE, C.option_path(self.opts, W_FACE))
        self.metric = C.cached_model(("topiq_face", C.file_key(p), self.device), lambda: load_topiq_face(p, self.device))

    def score(self, items):
        from ..models.musiq import score_images

        out = []
        for im in items:
            try:
                out.extend(score_images(self.metric, [im], self.device))
            except AssertionError:  # pyiqa: 'No face detected in the input image.'
                out.append(float("nan"))
        return out


class MouthQualityAnalyzer(FrameAnalyzer):
    def __init__(self, ctx, compat: bool):
        super().__init__(ctx)
        from ..models.musiq import W_KONIQ, W_SPAQ, load_musiq
        from ..regions.face_mesh import FaceMeshAnalyzer

        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        self.compat = compat
        w = W_KONIQ if compat else W_SPAQ
        p = C.weight_path(w, C.option_path(self.opts, w))
        self.weight = w
        self.metric = C.cached_model(("musiq", C.file_key(p), self.device), lambda: load_musiq(w, p, self.device))
        self.mesh = FaceMeshAnalyzer(None, refine=False, static=True)
        self.crops: list[np.ndarray] = []
        self.scores: list[float] = []
        self.n_frames = 0
        self.n_face = 0

    def update(self, frame):

        self.n_frames += 1
        lm = self.mesh.process_rgb(frame.rgb)
        if lm is None:
            return
        self.n_face += 1
        h, w = frame.rgb.shape[:2]
        crop = crop_box(frame.rgb, mouth_box(lm, w, h))
        if crop.size == 0:
            return
        self.crops.append(crop)
        if len(self.crops) >= (COMPAT_BATCH if self.compat else 16):
            self._run()

    def _run(self):
        from ..models.musiq import pad_batch_compat, score_images

        if not self.crops:
            return
        crops, self.crops = self.crops, []
        if self.compat:
            self.scores.extend(score_images(self.metric, list(pad_batch_compat(crops)), self.device))
        else:
            self.scores.extend(score_images(self.metric, crops, self.device))

    def finalize(self):
        self._run()
        return {"scores": np.asarray(self.scores), "n_frames": self.n_frames, "n_face": self.n_face, "weight": self.weight}

    def close(self):
        self.mesh.close()


class HeadPoseAnalyzer(FrameAnalyzer):
    """FaceXFormer pose on MediaPipe face boxes: rows (pitch, yaw, roll, cx, cy) for frames with a face."""

    def __init__(self, ctx):
        super().__init__(ctx)
        from ..models.facexformer import WEIGHT, load_facexformer

        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        p = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("facexformer", C.file_key(p), self.device), lambda: load_facexformer(p, self.device))
        self.det = C.FaceBoxDetector(model_selection=1, min_score=0.5)
        self.crops: list[np.ndarray] = []
        self.centres: list[tuple[float, float]] = []
        self.rows: list[np.ndarray] = []
        self.n_frames = 0

    def update(self, frame):
        self.n_frames += 1
        b = self.det(frame.rgb)
        if b is None:
            return
        x1, y1, x2, y2, _ = b
        h, w = frame.rgb.shape[:2]
        box = (max(int(x1), 0), max(int(y1), 0), min(int(x2), w), min(int(y2), h))  # PIL crop of int coords
        crop = crop_box(frame.rgb, box)
        if crop.size == 0:
            return
        self.crops.append(crop)
        self.centres.append(((x1 + x2) / 2, (y1 + y2) / 2))
        if len(self.crops) >= 32:
            self._run()

    def _run(self):
        from ..models.facexformer import theval_face_tensor

        if not self.crops:
            return
        x = theval_face_tensor(self.crops).to(self.device)
        pose = self.model.headpose(x).float().cpu().numpy() * 180 / np.pi
        for p, (cx, cy) in zip(pose, self.centres):
            self.rows.append(np.array([p[0], p[1], p[2], cx, cy]))
        self.crops, self.centres = [], []

    def finalize(self):
        self._run()
        return {"rows": np.asarray(self.rows).reshape(-1, 5), "n_frames": self.n_frames, "detector": self.det.name}

    def close(self):
        self.det.close()


register_frame_artifact("theval.topiq_iaa", TopiqIAAAnalyzer, "pyiqa topiq_iaa score per frame")
register_frame_artifact("theval.topiq_face", TopiqFaceAnalyzer, "pyiqa topiq_nr-face score per frame (NaN: no face)")
register_frame_artifact("theval.mouth_musiq", lambda c: MouthQualityAnalyzer(c, compat=False), "MUSIQ-SPAQ per mouth crop")
register_frame_artifact("theval.mouth_musiq.compat", lambda c: MouthQualityAnalyzer(c, compat=True), "MUSIQ-KonIQ per mouth crop, padded per 64")
register_frame_artifact("theval.facexformer_pose", HeadPoseAnalyzer, "FaceXFormer pose + face-box centre per frame")


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------

class _Q(Metric):
    family = "theval"
    protocol = "theval"
    variant = "paper"
    higher_is_better = None  # THEval normalises against the GT


def _mean_scores(res: dict[str, Any], what: str) -> MetricValue:
    s = res["scores"]
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise MetricUndefined(f"no frame could be scored ({what})")
    return MetricValue(float(np.mean(s)), {"n_scored": int(s.size), "n_frames": int(res["n_frames"])})


@register
class GlobalAesthetics(_Q):
    name = "theval.global_aesthetics"
    quantity = "global_aesthetics"
    estimator = "topiq-iaa"
    version = "1"
    requires = ("theval.topiq_iaa",)
    weights = ("topiq_iaa",)
    description = "TOPIQ IAA (pyiqa topiq_iaa, AVA) per frame, mean"

    def compute(self, ctx):
        return _mean_scores(ctx.get("theval.topiq_iaa"), "topiq_iaa")


# One class per quantity; the paper / compat variants are rows of _VARIANTS (parameters the class
# reads), as in metrics/theval.py.
class FaceQuality(_Q):
    """params: ``drop_video_without_face`` (the public script: any frame without a detectable face
    makes the video NaN) or the mean over the frames with a face."""

    quantity = "face_quality"
    estimator = "topiq-face"
    params: ClassVar[dict[str, Any]] = {}

    def compute(self, ctx):
        res = ctx.get("theval.topiq_face")
        if self.params["drop_video_without_face"]:
            bad = int(np.sum(~np.isfinite(res["scores"])))
            if bad:
                raise MetricUndefined(f"{bad} frame(s) without a face: the public script drops the whole video")
            return _mean_scores(res, "topiq_nr-face")
        v = _mean_scores(res, "no face found by pyiqa's aligner")
        v.details["n_no_face"] = int(np.sum(~np.isfinite(res["scores"])))
        return v


class MouthQuality(_Q):
    """The variants differ in the artifact (checkpoint and batching), not in the formula."""

    quantity = "mouth_quality"
    params: ClassVar[dict[str, Any]] = {}

    def compute(self, ctx):
        res = ctx.get(self.requires[0])
        v = _mean_scores(res, "no face")
        v.details.update(n_face=int(res["n_face"]), checkpoint=res["weight"])
        return v


class _Row(NamedTuple):
    name: str
    cls: type[_Q]
    variant: str
    estimator: str
    requires: tuple[str, ...]
    weights: tuple[str, ...]
    description: str
    params: dict[str, Any]


_VARIANTS: list[_Row] = [
    _Row("theval.face_quality", FaceQuality, "paper", "topiq-face", ("theval.topiq_face",), ("topiq_nr_face",),
         "TOPIQ face IQA (pyiqa topiq_nr-face, CGFIQA) on the face pyiqa detects, mean over frames with a face",
         {"drop_video_without_face": False}),
    _Row("theval.face_quality.compat", FaceQuality, "compat", "topiq-face", ("theval.topiq_face",), ("topiq_nr_face",),
         "As the public script: any frame without a detectable face makes the video NaN",
         {"drop_video_without_face": True}),
    _Row("theval.mouth_quality", MouthQuality, "paper", "musiq-spaq", ("theval.mouth_musiq",), ("musiq_spaq",),
         "MUSIQ (SPAQ, as the paper states) on lip-landmark box + 10 px, each crop at its own size, mean", {}),
    _Row("theval.mouth_quality.compat", MouthQuality, "compat", "musiq-koniq", ("theval.mouth_musiq.compat",),
         ("musiq_koniq",),
         "As the public code: MUSIQ KonIQ, crops zero-padded to the largest of each batch of 64", {}),
]
for _row in _VARIANTS:
    _cls_name = f"{_row.cls.__name__}_{_row.variant}"  # not the quantity class's name: origin() prints the row
    register(type(_cls_name, (_row.cls,), {
        "name": _row.name, "variant": _row.variant, "version": "1", "estimator": _row.estimator,
        "requires": _row.requires, "weights": _row.weights, "description": _row.description,
        "params": _row.params, "__module__": __name__, "__qualname__": _cls_name}))


@register
class HeadMotion(_Q):
    name = "theval.head_motion"
    quantity = "head_motion"
    estimator = "facexformer"
    version = "1"
    requires = ("theval.facexformer_pose",)
    weights = ("facexformer",)
    description = "FaceXFormer pose + face-box centre: sqrt(mean std(p,y,r)·mean var(Δ) + mean var(cx,cy))"

    def compute(self, ctx):
        res = ctx.get("theval.facexformer_pose")
        r = res["rows"]
        if r.shape[0] == 0:
            raise MetricUndefined("no face detected")
        val = head_motion_dynamics(r[:, 0], r[:, 1], r[:, 2], r[:, 3], r[:, 4])
        return MetricValue(val, {"n_face": int(r.shape[0]), "n_frames": int(res["n_frames"]), "face_detector": res["detector"],
                                 "pose_std_deg": [float(x) for x in r[:, :3].std(0)]})
