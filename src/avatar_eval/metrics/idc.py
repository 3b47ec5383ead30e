"""IDC (identity consistency, JoyAvatar): cosine similarity of DINOv2 features between the
reference image and each generated frame, mean over frames.

DINOv2 ViT-B/14 (``dinov2_base``) by default, ``options["idc_dinov2"]`` = small | base | large |
giant; feature = pooled (LayerNorm'd CLS) output; preprocessing = the checkpoint's image
processor (shortest edge 256 bicubic, centre crop 224). Every ``options["idc_stride"]`` th frame
(default 1). No reference image → undefined.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, MetricUndefined
from ..models import common as C
from ..options import IdentityOptions, family_options
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from .base import Metric, MetricValue
from .registry import register


def cosine_to_reference(ref: np.ndarray, feats: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    f = np.asarray(feats, dtype=np.float64).reshape(len(feats), -1)
    return (f @ r) / np.maximum(np.linalg.norm(f, axis=1) * np.linalg.norm(r), eps)


def read_image_rgb(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:
        raise InputError(f"reference image {path}: {e}") from e


class IDCAnalyzer(FrameAnalyzer):
    def __init__(self, ctx):
        super().__init__(ctx)
        from ..models.dinov2 import WEIGHTS, dinov2_preprocess, load_dinov2

        if not ctx.reference_image:
            raise MetricUndefined("IDC needs the sample's reference image")
        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        io = family_options(self.opts, IdentityOptions)
        self.size = io.idc_dinov2
        w = WEIGHTS[self.size]
        p = C.weight_path(w, C.option_path(self.opts, w))
        self.model = C.cached_model(("dinov2", str(p), self.device), lambda: load_dinov2(p, self.size, self.device))
        self.pre = dinov2_preprocess
        self.ref = self.model(self.pre([read_image_rgb(ctx.reference_image)]).to(self.device)).cpu().numpy()[0]
        self.stride = max(1, io.idc_stride)
        self.items: list[np.ndarray] = []
        self.cos: list[float] = []

    def update(self, frame):
        if frame.index % self.stride == 0:
            self.items.append(frame.rgb)
            if len(self.items) >= 16:
                self._run()

    def _run(self):
        if self.items:
            f = self.model(self.pre(self.items).to(self.device)).cpu().numpy()
            self.cos.extend(cosine_to_reference(self.ref, f).tolist())
            self.items = []

    def finalize(self):
        self._run()
        return {"cos": np.asarray(self.cos), "dinov2": self.size, "stride": self.stride}


register_frame_artifact("idc.dinov2", IDCAnalyzer, "DINOv2 cosine of each frame to the reference image")


@register
class IDC(Metric):
    name = "identity.idc"
    family = "identity"
    quantity = "idc"
    estimator = "dinov2"
    version = "1"
    protocol = "identity"
    higher_is_better = True
    requires = ("idc.dinov2",)
    weights = ("dinov2_base",)
    description = "IDC (JoyAvatar): mean cosine of DINOv2 features, reference image vs frames"

    def compute(self, ctx):
        res = ctx.get("idc.dinov2")
        if res["cos"].size == 0:
            raise MetricUndefined("no frame")
        return MetricValue(float(np.mean(res["cos"])), {"n_frames": int(res["cos"].size), "dinov2": res["dinov2"], "stride": res["stride"]})
