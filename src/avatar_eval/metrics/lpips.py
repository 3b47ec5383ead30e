"""LPIPS per region, GT vs generated (``jwbdh.lpips[.<region>]``: AlexNet, LPIPS' default;
``jwbdh.lpips_vgg[.<region>]``: VGG16). Suite ``lpips``.

Pairs and regions exactly as ``jwbdh.ssim[.<region>]`` (pipeline/pairs.py alignment, every
``pair.frame_stride``-th aligned pair; full frame at the GT resolution, the generated frame resized
bilinearly when sizes differ; regions on the default fixed-size crops, frames where the region is
missing on either side left out and counted). LPIPS v0.1 on [−1, 1] input at the native size (no
resize to 64/256), value = mean over frames of the per-frame distance (lower is better).

Memory: frame pairs are buffered and pushed through the network in batches of at most
``lpips.batch_size`` (default 8) pairs and at most ~64 Mpixel per batch, so a clip is never held
whole; crops are read only for the frames that are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricUndefined
from ..pipeline.pairs import (
    Alignment,
    PairAnalyzer,
    aligned_pairs,
    pair_alignment,
    pair_get,
    pair_options,
    register_pair_artifact,
)
from .base import Metric, MetricValue
from .functional import image as IM
from .registry import get_metric_class, register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import PairContext

REGIONS = ("full", "face", "hands", "left_hand", "right_hand")
CROP_REGIONS = ("face", "hands", "left_hand", "right_hand")
NETS = {"alex": "lpips_alex", "vgg": "lpips_vgg"}
MAX_BATCH_PIXELS = 64_000_000  # ~1.5 GB of float32 activations at most per forward (alex)

_MODELS: dict[str, Any] = {}


def lpips_model(net: str):
    """LPIPS network ``net`` loaded once per process (WeightsUnavailable when absent)."""
    if net not in _MODELS:
        from ..models.lpips import build_lpips

        _MODELS[net] = build_lpips(net)
    return _MODELS[net]


def _batch_size(pair: PairContext) -> int:
    opts = {}
    for ctx in (pair.gen, pair.gt):
        opts.update((ctx.options or {}).get("lpips") or {})
    return max(1, int(opts.get("batch_size", 8)))


def lpips_frames(model, gen: list[np.ndarray], gt: list[np.ndarray]) -> np.ndarray:
    """Per-pair LPIPS of uint8 RGB frames (equal sizes within a call), one forward."""
    import torch

    from ..models.lpips import lpips_input

    with torch.no_grad():
        return model(lpips_input(gen), lpips_input(gt)).double().numpy()


class _Batcher:
    """Collects (gen, gt) pairs of one size and evaluates them in bounded batches."""

    def __init__(self, model, batch: int):
        self.model, self.batch = model, batch
        self.gen: list[np.ndarray] = []
        self.gt: list[np.ndarray] = []
        self.out: list[np.ndarray] = []

    def add(self, g: np.ndarray, t: np.ndarray) -> None:
        if self.gen and self.gen[0].shape != g.shape:
            self.flush()
        self.gen.append(g)
        self.gt.append(t)
        px = g.shape[0] * g.shape[1]
        if len(self.gen) >= max(1, min(self.batch, MAX_BATCH_PIXELS // max(1, px))):
            self.flush()

    def flush(self) -> None:
        if self.gen:
            self.out.append(lpips_frames(self.model, self.gen, self.gt))
        self.gen, self.gt = [], []

    def values(self) -> np.ndarray:
        self.flush()
        return np.concatenate(self.out) if self.out else np.zeros(0)


class FullFrameLpipsAnalyzer(PairAnalyzer):
    net = "alex"

    def __init__(self, pair: PairContext, alignment: Alignment):
        super().__init__(pair, alignment)
        self.stride = max(1, int(pair_options(pair)["frame_stride"]))
        self.b = _Batcher(lpips_model(self.net), _batch_size(pair))
        self.idx: list[tuple[int, int]] = []

    def update(self, k: int, gen: Frame, gt: Frame) -> None:
        if k % self.stride:
            return
        g = gen.rgb
        h, w = gt.rgb.shape[:2]
        if g.shape[:2] != (h, w):
            g = IM.resize_to(g, w, h)
        self.b.add(g, gt.rgb)
        self.idx.append((gen.index, gt.index))

    def finalize(self) -> dict[str, Any]:
        v = self.b.values()
        ix = np.asarray(self.idx, dtype=int).reshape(-1, 2)
        return {"full": {"lpips": v, "valid": np.ones(len(v), dtype=bool), "gen_index": ix[:, 0],
                         "gt_index": ix[:, 1], "n_pairs": self.alignment.n_pairs, "stride": self.stride,
                         "n_missing_gen": 0, "n_missing_gt": 0}}


def _region_lpips(net: str):
    def fn(pair: PairContext, al: Alignment) -> dict[str, Any]:
        model = lpips_model(net)
        gen_rc, gt_rc = pair.gen.get("region_crops"), pair.gt.get("region_crops")
        stride = max(1, int(pair_options(pair)["frame_stride"]))
        out: dict[str, Any] = {}
        for r in CROP_REGIONS:
            if r not in gen_rc.videos or r not in gt_rc.videos:
                continue
            gv, tv = gen_rc[r], gt_rc[r]
            pairs = aligned_pairs(al, gv.n_frames, tv.n_frames)[::stride]
            n = len(pairs)
            vals = np.full(n, np.nan)
            gp = gv.present[pairs[:, 0]] if n else np.zeros(0, bool)
            tp = tv.present[pairs[:, 1]] if n else np.zeros(0, bool)
            valid = gp & tp
            ks = np.nonzero(valid)[0]
            if len(ks):
                # crops are small and fixed-size: read the used ones, then batch
                need_g = set(pairs[ks, 0].tolist())
                need_t = set(pairs[ks, 1].tolist())
                gfr = {i: f for i, f in enumerate(gv.frames()) if i in need_g}
                tfr = {i: f for i, f in enumerate(tv.frames()) if i in need_t}
                b = _Batcher(model, _batch_size(pair))
                for k in ks:
                    g, t = gfr[int(pairs[k, 0])], tfr[int(pairs[k, 1])]
                    if g.shape != t.shape:
                        g = IM.resize_to(g, t.shape[1], t.shape[0])
                    b.add(g, t)
                vals[ks] = b.values()
            out[r] = {"lpips": vals, "valid": valid, "gen_index": pairs[:, 0], "gt_index": pairs[:, 1],
                      "n_pairs": n, "stride": stride, "n_missing_gen": int((~gp).sum()),
                      "n_missing_gt": int((~tp).sum())}
        return out

    return fn


class _LpipsMetric(Metric):
    family = "jwbdh"
    protocol = "jwbdh"
    level = "pair"
    higher_is_better = False
    net = "alex"

    def compute_pair(self, pair: PairContext) -> MetricValue:
        data = pair_get(pair, self.pair_requires[0])
        if self.region not in data:
            raise MetricUndefined(f"no {self.region} crops on one side of the pair")
        d = data[self.region]
        vals = np.asarray(d["lpips"])[d["valid"]]
        if len(vals) == 0:
            raise MetricUndefined(f"{self.name}: the {self.region} region is on no aligned frame pair "
                                  f"(missing on generated {d['n_missing_gen']}, on GT {d['n_missing_gt']})")
        return MetricValue(float(np.mean(vals)), {
            "net": self.net, "version": "0.1", "n_frames": len(vals), "n_pairs": int(d["n_pairs"]),
            "stride": int(d["stride"]), "n_missing_gen": int(d["n_missing_gen"]),
            "n_missing_gt": int(d["n_missing_gt"]), "alignment": pair_alignment(pair).to_dict(),
            "median": float(np.median(vals)), "std": float(np.std(vals)), "min": float(np.min(vals)),
            "max": float(np.max(vals))})


#: every LPIPS metric, written out so that each name is findable as a literal: (name, region, net)
_TABLE: tuple[tuple[str, str, str], ...] = (
    ("jwbdh.lpips", "full", "alex"),
    ("jwbdh.lpips.face", "face", "alex"),
    ("jwbdh.lpips.hands", "hands", "alex"),
    ("jwbdh.lpips.left_hand", "left_hand", "alex"),
    ("jwbdh.lpips.right_hand", "right_hand", "alex"),
    ("jwbdh.lpips_vgg", "full", "vgg"),
    ("jwbdh.lpips_vgg.face", "face", "vgg"),
    ("jwbdh.lpips_vgg.hands", "hands", "vgg"),
    ("jwbdh.lpips_vgg.left_hand", "left_hand", "vgg"),
    ("jwbdh.lpips_vgg.right_hand", "right_hand", "vgg"),
)

for _net in NETS:
    register_pair_artifact(f"pair_lpips.{_net}.full",
                           type(f"FullFrameLpips_{_net}", (FullFrameLpipsAnalyzer,), {"net": _net}),
                           kind="frames", doc=f"LPIPS-{_net} per aligned full-frame pair (GT resolution).")
    register_pair_artifact(f"pair_lpips.{_net}.regions", _region_lpips(_net), clip_requires=("region_crops",),
                           kind="value", doc=f"LPIPS-{_net} per aligned pair of default region crops.")

NAMES: list[str] = []
for _name, _r, _net in _TABLE:
    _art = f"pair_lpips.{_net}.full" if _r == "full" else f"pair_lpips.{_net}.regions"
    register(type("LPIPS_" + _name.replace(".", "_"), (_LpipsMetric,), {
        "name": _name, "version": "1", "quantity": "lpips" if _net == "alex" else f"lpips_{_net}",
        "region": _r, "net": _net, "estimator": {"alex": "alexnet"}.get(_net, _net), "weights": (NETS[_net],),
        "requires": () if _r == "full" else ("region_crops",), "pair_requires": (_art,),
        "description": f"LPIPS v0.1 ({'AlexNet' if _net == 'alex' else 'VGG16'}) of GT vs "
                       f"generated, every aligned frame pair, region {_r} (lower is better)"}))
    NAMES.append(_name)
assert sorted({r for _, r, _ in _TABLE}) == sorted(REGIONS)

register_suite("lpips", [n for n in NAMES if get_metric_class(n).net == "alex"],
               "LPIPS v0.1 AlexNet per region (full, face, hands, left_hand, right_hand), GT vs generated")
register_suite("lpips.vgg", [n for n in NAMES if get_metric_class(n).net == "vgg"],
               "LPIPS v0.1 VGG16 per region, GT vs generated")
