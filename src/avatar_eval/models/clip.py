"""OpenAI CLIP image towers (ViT-B/32, ViT-L/14), plain torch, loading OpenAI's own files.

Route: the weights catalog lists OpenAI's published ``ViT-B-32.pt`` / ``ViT-L-14.pt`` (TorchScript
archives whose sha256 is in their URL), which is what VBench's ``clip.load`` reads. The vision
tower is written here with OpenAI's module names (``visual.conv1``, ``visual.class_embedding``,
``visual.positional_embedding``, ``visual.ln_pre``, ``visual.transformer.resblocks.N.{attn
(nn.MultiheadAttention: in_proj_weight/bias, out_proj), ln_1, mlp.c_fc, mlp.c_proj, ln_2}``,
``visual.ln_post``, ``visual.proj``) and loaded strictly from the archive's state dict (the text
tower's tensors are skipped). transformers' ``CLIPVisionModelWithProjection`` is the same network,
but would need a key conversion of these files; plain torch loads them as they are.

Output: ``encode_image`` (projected CLS embedding, not normalised). Precision as ``clip.load``:
the released tensors are fp16; on a GPU the model runs in fp16 (VBench's setting), on the CPU in
fp32 (``model.float()``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .common import (
    catalog_weight,
    load_checkpoint,
    load_strict,
    short_side_size,
    to_tensor_uint8,
    tv_center_crop,
    tv_resize_float,
)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

W_B32 = catalog_weight("clip_vit_b32")
W_L14 = catalog_weight("clip_vit_l14")


@dataclass(frozen=True)
class ClipArch:
    width: int
    layers: int
    heads: int
    patch_size: int
    output_dim: int
    input_resolution: int = 224


ARCHS = {
    "ViT-B/32": ClipArch(768, 12, 12, 32, 512),
    "ViT-L/14": ClipArch(1024, 24, 16, 14, 768),
}


class LayerNorm(nn.LayerNorm):
    """OpenAI's LayerNorm: computed in fp32, cast back to the input dtype."""

    def forward(self, x):
        t = x.dtype
        return super().forward(x.type(torch.float32)).type(t)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, d * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(d * 4, d))]))
        self.ln_2 = LayerNorm(d)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, a: ClipArch):
        super().__init__()
        scale = a.width ** -0.5
        self.conv1 = nn.Conv2d(3, a.width, kernel_size=a.patch_size, stride=a.patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(a.width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((a.input_resolution // a.patch_size) ** 2 + 1, a.width))
        self.ln_pre = LayerNorm(a.width)
        self.transformer = Transformer(a.width, a.layers, a.heads)
        self.ln_post = LayerNorm(a.width)
        self.proj = nn.Parameter(scale * torch.randn(a.width, a.output_dim))

    def forward(self, x):
        x = self.conv1(x.type(self.conv1.weight.dtype))
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class ClipImageEncoder(nn.Module):
    """Holds ``visual`` so the state-dict names are OpenAI's (``visual.*``)."""

    def __init__(self, arch: ClipArch):
        super().__init__()
        self.visual = VisionTransformer(arch)

    @torch.no_grad()
    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.visual(pixel_values).float()


def load_clip(path: str | Path, arch: str | ClipArch = "ViT-B/32", device: str = "cpu", fp16: bool | None = None) -> ClipImageEncoder:
    a = ARCHS[arch] if isinstance(arch, str) else arch
    model = ClipImageEncoder(a)
    sd = load_checkpoint(path, jit_ok=True)
    sd = {k: v for k, v in sd.items() if k.startswith("visual.")}
    load_strict(model, sd, what=f"CLIP {arch}")
    model = model.eval().to(device)
    if fp16 if fp16 is not None else str(device).startswith("cuda"):
        model = model.half()
    return model


def vbench_clip_preprocess(frames: np.ndarray | list[np.ndarray] | torch.Tensor, size: int = 224) -> torch.Tensor:
    """VBench ``clip_transform(224)`` as its mp4 path runs it (``load_video`` returns a float32
    tensor of 0–255 values): Resize(224, bicubic, antialias off) kept in float — no clamp, no
    rounding —, CenterCrop(224), /255, CLIP normalisation."""
    x = frames if isinstance(frames, torch.Tensor) else to_tensor_uint8(frames)
    h, w = x.shape[-2:]
    x = tv_resize_float(x, short_side_size(h, w, size), "bicubic")
    x = tv_center_crop(x, size).div(255.0)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std
