"""VBench's six video dimensions (Vchitect/VBench) and two offline variants, per region.

All networks run inside frame analyzers of the clip's single decode pass, on batches of frames
(VBench runs one frame per forward). Preprocessing follows VBench exactly (see
:mod:`avatar_eval.models.dino`, :mod:`~avatar_eval.models.clip`, :mod:`~avatar_eval.models.raft`,
:mod:`~avatar_eval.models.amt`, :mod:`~avatar_eval.models.musiq`); the formulas are in
:mod:`avatar_eval.metrics.functional.vbench`.

Regions: every artifact/metric exists for the full frame; a region ``R`` gets its own artifacts
``vbench.<x>:R`` and metrics ``vbench.<dimension>.R`` once a per-frame crop provider is registered
with :func:`register_region` (``regions/`` or a protocol module does this; the provider returns
the region's crop of a frame, or None where the region is absent); metric names follow
metrics/naming.py: ``vbench.<dimension>[.<region>][.<variant>]``. Crops of one clip are
computed once per frame and shared by every analyzer of the region. Frames whose crop differs in
size from the region's first crop are resized to it (bilinear), as VBench's AMT loader does.

Offline variants (no download): ``vbench.dynamic_degree.offline`` and
``vbench.motion_smoothness.offline`` (``[.<region>].offline``; ``.offline_compat`` on JWB-DH's
compat crops) replace RAFT/AMT-S with OpenCV DIS flow (estimator ``dis``) (see :mod:`avatar_eval.metrics.functional.flow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricUndefined
from ..models import common as C
from ..options import VBenchOptions, family_options
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from .base import Metric, MetricValue
from .functional import vbench as fv
from .naming import metric_name
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext

CropFn = Callable[["Frame"], "np.ndarray | None"]

# ---------------------------------------------------------------------------------------------
# region crops shared by the analyzers of one clip
# ---------------------------------------------------------------------------------------------

_REGION_PROVIDERS: dict[str, Callable[["ClipContext"], CropFn]] = {}


def _memo(fn: CropFn) -> CropFn:
    last: dict[str, Any] = {"i": None, "v": None}

    def wrapped(frame):
        if last["i"] != frame.index:
            last["i"], last["v"] = frame.index, fn(frame)
        return last["v"]

    return wrapped


def crop_fn(ctx: "ClipContext", region: str) -> CropFn:
    if region == "full":
        return lambda frame: frame.rgb
    per = ctx.__dict__.setdefault("_vbench_region_crops", {})  # lives and dies with the clip context
    if region not in per:
        per[region] = _memo(_REGION_PROVIDERS[region](ctx))
    return per[region]


class _Conform:
    """Resize crops to the region's first crop size (VBench ``check_dim_and_resize``)."""

    def __init__(self):
        self.size: tuple[int, int] | None = None

    def __call__(self, img: np.ndarray) -> np.ndarray:
        import cv2

        if self.size is None:
            self.size = img.shape[:2]
        if img.shape[:2] != self.size:
            img = cv2.resize(img, (self.size[1], self.size[0]), interpolation=cv2.INTER_LINEAR)
        return img


# ---------------------------------------------------------------------------------------------
# analyzers
# ---------------------------------------------------------------------------------------------


class _RegionAnalyzer(FrameAnalyzer):
    region = "full"

    def __init__(self, ctx: "ClipContext", region: str = "full"):
        super().__init__(ctx)
        self.region = region
        self.crop = crop_fn(ctx, region)
        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        self.n_missing = 0

    def _img(self, frame: "Frame") -> np.ndarray | None:
        img = self.crop(frame)
        if img is None or img.size == 0:
            self.n_missing += 1
            return None
        return img


class _FeatureAnalyzer(_RegionAnalyzer):
    """Batched per-frame network outputs; subclasses define ``load`` and ``run``."""

    batch_size = 16

    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region)
        self.batch_size = family_options(self.opts, VBenchOptions).batch or self.batch_size
        self.load()
        self.buf = C.Batcher(self._flush, self.batch_size)

    def load(self) -> None:
        raise NotImplementedError

    def run(self, imgs: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _flush(self, imgs: list[np.ndarray]) -> list[np.ndarray]:
        groups: dict[tuple, list[int]] = {}
        for i, im in enumerate(imgs):
            groups.setdefault(im.shape, []).append(i)
        out: list[Any] = [None] * len(imgs)
        for _, idx in groups.items():
            res = self.run([imgs[i] for i in idx])
            for k, i in enumerate(idx):
                out[i] = res[k]
        return out

    def update(self, frame):
        img = self._img(frame)
        if img is not None:
            self.buf.add(img)

    def finalize(self):
        return {"values": np.asarray(self.buf.flush()), "n_missing": self.n_missing, "region": self.region}


class DinoAnalyzer(_FeatureAnalyzer):
    def load(self):
        from ..models.dino import WEIGHT, load_dino

        p = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("dino", C.file_key(p), self.device), lambda: load_dino(p, device=self.device))

    def run(self, imgs):
        import torch

        from ..models.dino import vbench_dino_preprocess

        with torch.no_grad():
            return self.model(vbench_dino_preprocess(np.stack(imgs)).to(self.device)).float().cpu().numpy()


class ClipB32Analyzer(_FeatureAnalyzer):
    def load(self):
        from ..models.clip import W_B32, load_clip

        p = C.weight_path(W_B32, C.option_path(self.opts, W_B32))
        self.model = C.cached_model(("clip", "ViT-B/32", C.file_key(p), self.device), lambda: load_clip(p, "ViT-B/32", self.device))

    def run(self, imgs):
        from ..models.clip import vbench_clip_preprocess

        return self.model(vbench_clip_preprocess(np.stack(imgs)).to(self.device)).float().cpu().numpy()


class AestheticAnalyzer(_FeatureAnalyzer):
    def load(self):
        from ..models.clip import W_L14, load_clip
        from ..models.laion import WEIGHT, load_laion_head

        p = C.weight_path(W_L14, C.option_path(self.opts, W_L14))
        h = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("clip", "ViT-L/14", C.file_key(p), self.device), lambda: load_clip(p, "ViT-L/14", self.device))
        self.head = C.cached_model(("laion", C.file_key(h), self.device), lambda: load_laion_head(h, device=self.device))

    def run(self, imgs):
        from ..models.clip import vbench_clip_preprocess
        from ..models.laion import aesthetic_scores

        emb = self.model(vbench_clip_preprocess(np.stack(imgs)).to(self.device))
        return aesthetic_scores(emb, self.head).float().cpu().numpy()


class MusiqSpaqAnalyzer(_FeatureAnalyzer):
    def load(self):
        from ..models.musiq import W_SPAQ, load_musiq

        p = C.weight_path(W_SPAQ, C.option_path(self.opts, W_SPAQ))
        self.model = C.cached_model(("musiq", C.file_key(p), self.device), lambda: load_musiq(W_SPAQ, p, self.device))
        self.mode = family_options(self.opts, VBenchOptions).imaging_quality_preprocessing_mode

    def run(self, imgs):
        import torch

        x = C.to_tensor_uint8(imgs)
        h, w = x.shape[-2:]
        # VBench imaging_quality.transform on load_video's float32 0–255 tensor: float resize, /255
        x = C.tv_resize_float(x, fv.imaging_resize_size(h, w, self.mode), "bilinear")
        if self.mode == "shorter_centercrop" and min(h, w) > 512:  # VBench crops only what it resized
            x = C.tv_center_crop(x, 512)
        x = x.div(255.0).to(self.device)
        with torch.no_grad():
            return self.model(x).detach().float().cpu().reshape(-1).numpy()


class _PairAnalyzer(_RegionAnalyzer):
    """Frames sampled at a stride, scored pairwise (consecutive samples) in small batches."""

    def __init__(self, ctx, region="full", stride: int = 1):
        super().__init__(ctx, region)
        self.stride = stride
        self.conform = _Conform()
        self.prev: np.ndarray | None = None
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self.scores: list[float] = []
        self.n_sampled = 0
        self.i = 0
        self.batch = family_options(self.opts, VBenchOptions).pair_batch

    def update(self, frame):
        i = self.i
        self.i += 1
        if i % self.stride:
            return
        img = self._img(frame)
        if img is None:
            return
        img = self.conform(img)
        self.n_sampled += 1
        if self.prev is not None:
            self.pairs.append((self.prev, img))
            if len(self.pairs) >= self.batch:
                self._run()
        self.prev = img

    def _run(self):
        if self.pairs:
            a = np.stack([p[0] for p in self.pairs])
            b = np.stack([p[1] for p in self.pairs])
            self.scores.extend(self.score_pairs(a, b))
            self.pairs = []

    def score_pairs(self, a, b) -> list[float]:
        raise NotImplementedError

    def finalize(self):
        self._run()
        h, w = self.conform.size or (0, 0)
        return {"scores": np.asarray(self.scores), "n_sampled": self.n_sampled, "height": h, "width": w,
                "stride": self.stride, "n_missing": self.n_missing, "region": self.region}


class RaftAnalyzer(_PairAnalyzer):
    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region, fv.dynamic_interval(ctx.fps))
        from ..models.raft import WEIGHT, load_raft

        p = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("raft", C.file_key(p), self.device), lambda: load_raft(p, self.device))

    def score_pairs(self, a, b):
        from ..models.raft import raft_flow_pairs

        flows = raft_flow_pairs(self.model, a, b, iters=20, device=self.device)
        return [fv.top_magnitude_mean(f) for f in flows]


class DisFlowAnalyzer(_PairAnalyzer):
    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region, fv.dynamic_interval(ctx.fps))
        from .functional.flow import DISFlow

        self.flow = DISFlow("medium")

    def score_pairs(self, a, b):
        return [fv.top_magnitude_mean(self.flow(x, y)) for x, y in zip(a, b)]


class _TripleAnalyzer(_RegionAnalyzer):
    """Motion smoothness: even frames kept, each odd frame with two even neighbours interpolated."""

    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region)
        self.conform = _Conform()
        self.k = 0  # index among the region's frames
        self.left: np.ndarray | None = None
        self.mid: np.ndarray | None = None
        self.triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.diffs: list[float] = []
        self.batch = family_options(self.opts, VBenchOptions).pair_batch

    def update(self, frame):
        img = self._img(frame)
        if img is None:
            return
        img = self.conform(img)
        k = self.k
        self.k += 1
        if k % 2 == 0:
            if self.left is not None and self.mid is not None:
                self.triples.append((self.left, img, self.mid))
                if len(self.triples) >= self.batch:
                    self._run()
            self.left, self.mid = img, None
        else:
            self.mid = img

    def _run(self):
        if self.triples:
            l = np.stack([t[0] for t in self.triples])
            r = np.stack([t[1] for t in self.triples])
            interp = self.interpolate(l, r)
            self.diffs.extend(fv.abs_diff_mean(t[2], x) for t, x in zip(self.triples, interp))
            self.triples = []

    def interpolate(self, l, r) -> np.ndarray:
        raise NotImplementedError

    def finalize(self):
        self._run()
        return {"diffs": np.asarray(self.diffs), "n_frames": self.k, "n_missing": self.n_missing, "region": self.region}


class AmtAnalyzer(_TripleAnalyzer):
    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region)
        from ..models.amt import WEIGHT, load_amt_s

        p = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("amt", C.file_key(p), self.device), lambda: load_amt_s(p, self.device))

    def interpolate(self, l, r):
        from ..models.amt import amt_interpolate

        return amt_interpolate(self.model, l, r, self.device)


class DisInterpAnalyzer(_TripleAnalyzer):
    def __init__(self, ctx, region="full"):
        super().__init__(ctx, region)
        from .functional.flow import DISFlow

        self.flow = DISFlow("medium")

    def interpolate(self, l, r):
        from .functional.flow import interpolate_midpoint

        return np.stack([interpolate_midpoint(a, b, self.flow) for a, b in zip(l, r)])


ANALYZERS: dict[str, type[_RegionAnalyzer]] = {
    "vbench.dino": DinoAnalyzer,
    "vbench.clip_b32": ClipB32Analyzer,
    "vbench.aesthetic": AestheticAnalyzer,
    "vbench.musiq_spaq": MusiqSpaqAnalyzer,
    "vbench.raft": RaftAnalyzer,
    "vbench.amt": AmtAnalyzer,
    "vbench.dis_flow": DisFlowAnalyzer,
    "vbench.dis_interp": DisInterpAnalyzer,
}


def artifact_name(base: str, region: str) -> str:
    return base if region == "full" else f"{base}:{region}"


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------


def _details(res: dict[str, Any], **kw: Any) -> dict[str, Any]:
    d = {"region": res.get("region", "full"), "frames_without_region": int(res.get("n_missing", 0))}
    d.update(kw)
    return d


class _VBenchMetric(Metric):
    family = "vbench"
    protocol = "vbench"
    variant = "paper"
    higher_is_better = True
    artifact = ""

    def _res(self, ctx):
        return ctx.get(self.requires[0])


class _Consistency(_VBenchMetric):
    def compute(self, ctx):
        res = self._res(ctx)
        f = res["values"]
        if len(f) < 2:
            raise MetricUndefined(f"consistency needs two frames with the region, got {len(f)}")
        r = fv.temporal_consistency(f)
        return MetricValue(r.video_score, _details(res, video_sim=r.video_sim, count=r.count))


class _Aesthetic(_VBenchMetric):
    def compute(self, ctx):
        res = self._res(ctx)
        v = res["values"]
        if len(v) == 0:
            raise MetricUndefined("no frame with the region")
        return MetricValue(fv.aesthetic_score(v), _details(res, raw_mean=float(np.mean(v)), n_frames=len(v)))


class _Imaging(_VBenchMetric):
    def compute(self, ctx):
        res = self._res(ctx)
        v = res["values"]
        if len(v) == 0:
            raise MetricUndefined("no frame with the region")
        return MetricValue(fv.imaging_score(v), _details(res, musiq_mean=float(np.mean(v)), n_frames=len(v), scale="/100"))


class _Smoothness(_VBenchMetric):
    def compute(self, ctx):
        res = self._res(ctx)
        if len(res["diffs"]) == 0:
            raise MetricUndefined(f"motion smoothness needs three frames with the region, got {res['n_frames']}")
        return MetricValue(fv.motion_smoothness_score(res["diffs"]), _details(res, n_interpolated=len(res["diffs"]), mean_abs_diff=float(np.mean(res["diffs"]))))


class _Dynamic(_VBenchMetric):
    def compute(self, ctx):
        res = self._res(ctx)
        if res["n_sampled"] == 0:
            raise MetricUndefined("no frame with the region")
        thres, count_num = fv.dynamic_params(res["height"], res["width"], res["n_sampled"])
        dyn = fv.is_dynamic(res["scores"], thres, count_num)
        return MetricValue(1.0 if dyn else 0.0, _details(
            res, thres=thres, count_num=count_num, n_sampled=res["n_sampled"], stride=res["stride"],
            n_pairs_over=int(np.sum(np.asarray(res["scores"]) > thres)), scores=[round(float(s), 4) for s in res["scores"]],
            aggregate="fraction of dynamic videos"))


_DIMENSIONS = [
    # (quantity, variant, estimator, class, artifact, weights, description)
    ("subject_consistency", "paper", "dino", _Consistency, "vbench.dino", ("dino_vitb16",), "DINO ViT-B/16 feature consistency with the previous and the first frame"),
    ("background_consistency", "paper", "clip", _Consistency, "vbench.clip_b32", ("clip_vit_b32",), "CLIP ViT-B/32 feature consistency with the previous and the first frame"),
    ("aesthetic_quality", "paper", "laion-aesthetic", _Aesthetic, "vbench.aesthetic", ("clip_vit_l14", "laion_aesthetic_vit_l14"), "LAION aesthetic head on CLIP ViT-L/14, /10, mean over frames"),
    ("imaging_quality", "paper", "musiq-spaq", _Imaging, "vbench.musiq_spaq", ("musiq_spaq",), "MUSIQ (SPAQ) on frames with long side ≤ 512, /100, mean over frames"),
    ("motion_smoothness", "paper", "amt", _Smoothness, "vbench.amt", ("amt_s",), "AMT-S interpolation of odd frames from even ones: (255 − mean |orig − interp|)/255"),
    ("dynamic_degree", "paper", "raft", _Dynamic, "vbench.raft", ("raft_things",), "RAFT flow on frames every round(fps/8); 1 if enough pairs exceed 6·min(H,W)/256 in top-5 % magnitude"),
    ("dynamic_degree", "offline", "dis", _Dynamic, "vbench.dis_flow", (), "OFFLINE variant of dynamic degree: OpenCV DIS flow instead of RAFT (not VBench's number)"),
    ("motion_smoothness", "offline", "dis", _Smoothness, "vbench.dis_interp", (), "OFFLINE variant of motion smoothness: DIS flow-warp interpolation instead of AMT-S (not VBench's number)"),
]

_REGIONS_DONE: set[str] = set()


def _name_region_variant(region: str, variant: str) -> tuple[str, str]:
    """(region, variant) fields of a dimension row on crop-provider key ``region``: a provider key
    ``R.compat`` (JWB-DH's public-code crops, regions/vbench_regions.py) is region ``R`` in the
    compat variant (``offline_compat`` for an offline row)."""
    if region.endswith(".compat"):
        return region[: -len(".compat")], ("offline_compat" if variant == "offline" else "compat")
    return region, variant


def _register_region(region: str) -> list[str]:
    names = []
    for base, cls in ANALYZERS.items():
        register_frame_artifact(artifact_name(base, region), (lambda c, _cls=cls, _r=region: _cls(c, _r)),
                                f"{base} on region {region!r}")
    for quantity, row_variant, estimator, base_cls, art, weights, desc in _DIMENSIONS:
        r, variant = _name_region_variant(region, row_variant)
        name = metric_name("vbench", quantity, r, variant)
        attrs = dict(name=name, version="1", quantity=quantity, requires=(artifact_name(art, region),),
                     weights=weights, region=r, variant=variant, estimator=estimator,
                     description=desc + ("" if region == "full" else f" (region: {region})"))
        cls = type("VBench_" + name.replace(".", "_"), (base_cls,), attrs)
        register(cls)
        names.append(name)
    _REGIONS_DONE.add(region)
    return names


def register_region(region: str, provider: Callable[["ClipContext"], CropFn]) -> list[str]:
    """Make the VBench dimensions available on a region: ``provider(ctx)`` returns a function
    ``frame -> crop (H,W,3 uint8) | None``. Returns the metric names (``vbench.<dim>.<region>``;
    a key ``R.compat`` gives ``vbench.<dim>.R.compat``, metrics/naming.py)."""
    if region == "full":
        raise ValueError("'full' is built in")
    _REGION_PROVIDERS[region] = provider
    if region in _REGIONS_DONE:
        return [metric_name("vbench", q, *_name_region_variant(region, v)) for q, v, *_ in _DIMENSIONS]
    return _register_region(region)


FULL = _register_region("full")
SIX = ["vbench.subject_consistency", "vbench.background_consistency", "vbench.aesthetic_quality",
       "vbench.imaging_quality", "vbench.motion_smoothness", "vbench.dynamic_degree"]
register_suite("vbench", SIX, "VBench six dimensions (DINO, CLIP, LAION, MUSIQ-SPAQ, AMT-S, RAFT), full frame")
register_suite("vbench-offline", ["vbench.dynamic_degree.offline", "vbench.motion_smoothness.offline"],
               "VBench motion dimensions with OpenCV DIS flow (no download; different estimators, own names)")
