"""Identity similarity (CSIM as avatar papers mean it): cosine of face-recognition embeddings.

Two identity models, each under its own name:

* ArcFace R50 (InsightFace ``w600k_r50.onnx``, weight ``arcface_w600k_r50``, ONNX Runtime) on
  112×112 faces aligned to the ArcFace template from Face Mesh points;
* dlib's ResNet face descriptor (``face_recognition_models`` ships it; needs ``dlib-bin``),
  aligned by dlib's 5-point predictor inside the Face Mesh face box.

Metrics: ``identity.csim`` / ``identity.csim.offline`` (reference image vs generated frames,
mean cosine) and ``jwbdh.csim.face`` / ``jwbdh.csim.face.offline`` (GT vs generated face on
aligned frame pairs, mean cosine). Faces are embedded on every ``identity.frame_stride``-th
frame (default: about 5 per second, ``round(fps / 5)``) where Face Mesh finds a face, in the
clip's single decode pass (artifacts ``face_embeddings.arcface`` / ``face_embeddings.dlib``).
JWB-DH's own "CSIM" is a pixel cosine: ``jwbdh.pixel_csim[.<region>]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError, MetricUndefined
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from ..regions import artifacts as _region_artifacts  # noqa: F401
from ..regions.face_align import five_points, norm_crop
from .base import Metric, MetricValue
from .registry import register

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext, PairContext

_EMBEDDERS: dict[str, Any] = {}


def embedder(kind: str):
    if kind not in _EMBEDDERS:
        if kind == "arcface":
            from ..models.arcface import load_arcface

            _EMBEDDERS[kind] = load_arcface()
        elif kind == "dlib":
            from ..models.dlib_face import load_dlib_embedder

            _EMBEDDERS[kind] = load_dlib_embedder()
        else:
            raise KeyError(kind)
    return _EMBEDDERS[kind]


def embed_face(kind: str, rgb: np.ndarray, face_px: np.ndarray) -> np.ndarray | None:
    """L2-normalised embedding of the face given by its (468, 2) mesh points, or None."""
    f = np.asarray(face_px, dtype=np.float64)
    if not np.isfinite(f[:, :2]).all():
        return None
    m = embedder(kind)
    if kind == "arcface":
        p5 = five_points(f)
        if p5 is None:
            return None
        return m.embed([norm_crop(rgb, p5)])[0]
    lo, hi = f.min(axis=0), f.max(axis=0)
    e = m.embed(rgb, (lo[0], lo[1], hi[0], hi[1]))
    n = np.linalg.norm(e)
    return (e / n).astype(np.float32) if n > 0 else None


def default_stride(ctx: "ClipContext") -> int:
    o = ((ctx.options or {}).get("identity", {}) or {})
    if "frame_stride" in o:
        return max(1, int(o["frame_stride"]))
    return max(1, int(round(ctx.fps / 5.0)))


class FaceEmbeddingAnalyzer(FrameAnalyzer):
    def __init__(self, ctx: "ClipContext", kind: str):
        super().__init__(ctx)
        from ..regions.crops import _DetectionSource

        self.kind = kind
        embedder(kind)  # WeightsUnavailable here: the metric is skipped, nothing decoded for it
        self.stride = default_stride(ctx)
        self.src = _DetectionSource(ctx, True)
        self.idx: list[int] = []
        self.emb: list[np.ndarray] = []
        self.n_seen = 0
        self.n_sampled = 0

    def update(self, frame: "Frame") -> None:
        self.n_seen += 1
        pts, sc = self.src.points(frame, "face")  # keeps the shared detector in step every frame
        if frame.index % self.stride:
            return
        self.n_sampled += 1
        if not np.isfinite(sc).any():
            return
        e = embed_face(self.kind, frame.rgb, pts)
        if e is not None:
            self.idx.append(frame.index)
            self.emb.append(e)

    def finalize(self) -> dict[str, Any]:
        return {"frame_indices": np.asarray(self.idx, dtype=np.int64),
                "embeddings": np.asarray(self.emb, dtype=np.float32).reshape(len(self.emb), -1),
                "stride": self.stride, "n_frames": self.n_seen, "n_sampled": self.n_sampled}

    def close(self) -> None:
        self.src.close()


for _k in ("arcface", "dlib"):
    register_frame_artifact(f"face_embeddings.{_k}", (lambda c, _k=_k: FaceEmbeddingAnalyzer(c, _k)),
                            f"{_k} identity embeddings (L2-normalised) of the face every identity.frame_stride frames")


def reference_embedding(kind: str, path: str) -> np.ndarray:
    import cv2
    import mediapipe as mp

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"reference image unreadable: {path}")
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    H, W = rgb.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        r = fm.process(rgb)
    if not r.multi_face_landmarks:
        raise MetricUndefined(f"no face found in the reference image {path}")
    pts = np.array([(p.x * W, p.y * H) for p in r.multi_face_landmarks[0].landmark[:468]])
    e = embed_face(kind, rgb, pts)
    if e is None:
        raise MetricUndefined("reference face could not be aligned")
    return e


class _RefCsim(Metric):
    family = "identity"
    protocol = "identity"
    quantity = "csim"
    higher_is_better = True
    kind = "arcface"

    def compute(self, ctx: "ClipContext") -> MetricValue:
        if not ctx.reference_image:
            raise MetricUndefined("no reference image for this sample (identity CSIM compares with it)")
        d = ctx.get(self.requires[0])
        if len(d["embeddings"]) == 0:
            raise MetricUndefined(f"no face found on the {d['n_sampled']} sampled frames")
        ref = reference_embedding(self.kind, ctx.reference_image)
        cos = d["embeddings"] @ ref
        return MetricValue(float(np.mean(cos)), {"n_frames": int(len(cos)), "n_sampled": d["n_sampled"],
                                                 "stride": d["stride"], "min": float(cos.min()),
                                                 "frames_without_face": int(d["n_sampled"] - len(cos))})


class _PairCsim(Metric):
    family = "jwbdh"
    protocol = "jwbdh"
    quantity = "csim"
    level = "pair"
    higher_is_better = True
    region = "face"

    def compute_pair(self, pair: "PairContext") -> MetricValue:
        from ..pipeline.pairs import pair_alignment

        al = pair_alignment(pair)
        g = pair.gen.get(self.requires[0])
        t = pair.gt.get(self.requires[0])
        if len(g["embeddings"]) == 0 or len(t["embeddings"]) == 0:
            raise MetricUndefined(f"no face embedded (generated {len(g['embeddings'])}, GT {len(t['embeddings'])} frames)")
        gidx = g["frame_indices"]
        tol = max(g["stride"], 1) / 2.0
        cos = []
        for j, ti in enumerate(t["frame_indices"]):
            want = al.gen_index(int(ti))
            k = int(np.argmin(np.abs(gidx - want)))
            if abs(int(gidx[k]) - want) <= tol:
                cos.append(float(g["embeddings"][k] @ t["embeddings"][j]))
        if not cos:
            raise MetricUndefined("no aligned frame pair with a face on both sides")
        return MetricValue(float(np.mean(cos)), {"n_frames": len(cos), "stride": int(t["stride"]),
                                                 "gt_faces": int(len(t["embeddings"])), "gen_faces": int(len(gidx)),
                                                 "alignment": al.mode})


#: (name, class, estimator, variant): ArcFace is the protocols' estimator (paper); dlib's descriptor
#: the offline substitute (its files ship in a pip package, no download)
_TABLE: tuple[tuple[str, type[Metric], str, str], ...] = (
    ("identity.csim", _RefCsim, "arcface", "paper"),
    ("identity.csim.offline", _RefCsim, "dlib", "offline"),
    ("jwbdh.csim.face", _PairCsim, "arcface", "paper"),
    ("jwbdh.csim.face.offline", _PairCsim, "dlib", "offline"),
)
_WEIGHTS = {"arcface": ("arcface_w600k_r50",), "dlib": ("dlib_face_resnet_v1", "dlib_shape_predictor_5")}
for _name, _cls, _k, _var in _TABLE:
    _what = ("reference image vs generated frames" if _cls is _RefCsim
             else "GT vs generated faces on aligned frames")
    register(type(f"{_cls.__name__.strip('_')}_{_k}", (_cls,), dict(
        name=_name, version="1", kind=_k, estimator=_k, variant=_var, requires=(f"face_embeddings.{_k}",),
        weights=_WEIGHTS[_k], description=f"Identity CSIM: mean cosine of {_k} embeddings, {_what}")))


# dlib weights are catalogued when the identity metrics are registered
from ..models.dlib_face import register_dlib_weights as _reg_dlib  # noqa: E402

_reg_dlib()
