"""DINO ViT-B/16 (facebookresearch/dino), plain torch, for VBench subject consistency.

Route: network code written here, loading the original checkpoint
``dino_vitbase16_pretrain.pth`` (what VBench's ``torch.hub.load('facebookresearch/dino',
'dino_vitb16')`` loads) strictly: keys ``cls_token``, ``pos_embed``, ``patch_embed.proj.*``,
``blocks.{0..11}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*``, ``norm.*``.
Not through transformers: DINO's own position-embedding interpolation for non-square inputs
(bicubic with ``scale_factor = (n + 0.1)/14``) and its LayerNorm eps 1e-6 are part of VBench's
numbers, and VBench feeds non-square frames (short side 224, no crop).

Output: the final-norm CLS token (768-d), as the hub model's ``forward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import catalog_weight, load_checkpoint, load_strict, short_side_size, to_tensor_uint8, tv_resize_float

WEIGHT = catalog_weight("dino_vitb16")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ViTArch:
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    patch_size: int = 16
    img_size: int = 224
    mlp_ratio: float = 4.0
    eps: float = 1e-6


VITB16 = ViTArch()


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class _Block(nn.Module):
    def __init__(self, a: ViTArch):
        super().__init__()
        self.norm1 = nn.LayerNorm(a.embed_dim, eps=a.eps)
        self.attn = _Attention(a.embed_dim, a.num_heads)
        self.norm2 = nn.LayerNorm(a.embed_dim, eps=a.eps)
        self.mlp = _Mlp(a.embed_dim, int(a.embed_dim * a.mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, a: ViTArch):
        super().__init__()
        self.patch_size = a.patch_size
        self.proj = nn.Conv2d(3, a.embed_dim, kernel_size=a.patch_size, stride=a.patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    def __init__(self, arch: ViTArch = VITB16):
        super().__init__()
        self.arch = arch
        n = (arch.img_size // arch.patch_size) ** 2
        self.patch_embed = _PatchEmbed(arch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, arch.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, arch.embed_dim))
        self.blocks = nn.ModuleList([_Block(arch) for _ in range(arch.depth)])
        self.norm = nn.LayerNorm(arch.embed_dim, eps=arch.eps)

    def _pos(self, n_tokens: int, h: int, w: int) -> torch.Tensor:
        npatch = n_tokens - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and h == w:
            return self.pos_embed
        dim = self.pos_embed.shape[-1]
        g = int(math.sqrt(N))
        h0 = h // self.arch.patch_size + 0.1  # DINO's +0.1 guard against float floor errors
        w0 = w // self.arch.patch_size + 0.1
        grid = self.pos_embed[:, 1:].reshape(1, g, g, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=(h0 / math.sqrt(N), w0 / math.sqrt(N)), mode="bicubic")
        if grid.shape[-2] != int(h0) or grid.shape[-1] != int(w0):  # pragma: no cover - as DINO asserts
            raise RuntimeError("position-embedding interpolation produced the wrong grid")
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat([self.pos_embed[:, :1], grid], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        t = t + self._pos(t.shape[1], h, w)
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t)[:, 0]


def load_dino(path: str | Path, arch: ViTArch = VITB16, device: str = "cpu") -> DinoViT:
    model = DinoViT(arch)
    sd = load_checkpoint(path)
    # the released file has no head; torch.hub's model uses nn.Identity there
    load_strict(model, sd, what=f"DINO ViT ({Path(path).name})", ignore=("head.",))
    return model.eval().to(device)


def vbench_dino_preprocess(frames: np.ndarray | list[np.ndarray] | torch.Tensor, size: int = 224) -> torch.Tensor:
    """VBench ``dino_transform(224)`` as its mp4 path runs it: ``load_video`` hands over
    ``torch.Tensor(frames)`` — float32 0–255, not uint8 — so ``Resize(224, antialias=False)`` is a
    plain bilinear interpolation kept in float (no rounding back to uint8), no crop, then /255 and
    ImageNet normalisation. (N,H,W,3) uint8 → (N,3,h,w) float."""
    x = frames if isinstance(frames, torch.Tensor) else to_tensor_uint8(frames)
    h, w = x.shape[-2:]
    x = tv_resize_float(x, short_side_size(h, w, size), "bilinear")
    x = x.div(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std
