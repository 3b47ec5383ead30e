"""DINOv2 through transformers (``Dinov2Model``), for IDC (identity consistency, JoyAvatar).

Route: transformers network code with the facebook/dinov2-* ``model.safetensors`` (older key
layouts are mapped by transformers; every tensor must be present). The configs are fixed here.
Feature: the pooled output (final LayerNorm of the CLS token). Preprocessing is the checkpoint's
own image processor (BitImageProcessor): shortest edge → 256 (PIL bicubic), centre crop 224,
/255, ImageNet normalisation. JoyAvatar does not publish its DINOv2 size or crop; ViT-B/14 is the
default here and the size is recorded with every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .common import catalog_weight, hf_from_dir, hf_from_single_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Dinov2Arch:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    mlp_ratio: int = 4
    patch_size: int = 14
    image_size: int = 518
    use_swiglu_ffn: bool = False


ARCHS = {
    "small": Dinov2Arch(384, 12, 6),
    "base": Dinov2Arch(768, 12, 12),
    "large": Dinov2Arch(1024, 24, 16),
    "giant": Dinov2Arch(1536, 40, 24, use_swiglu_ffn=True),
}

WEIGHTS = {
    # the catalogue's ``dinov2_base`` is a transformers model directory; the other sizes are single
    # files (their model.safetensors), loaded with the fixed configs below
    size: catalog_weight(f"dinov2_{size}")
    for size in ARCHS
}


def dinov2_config(a: Dinov2Arch):
    from transformers import Dinov2Config

    return Dinov2Config(hidden_size=a.hidden_size, num_hidden_layers=a.num_hidden_layers,
                        num_attention_heads=a.num_attention_heads, mlp_ratio=a.mlp_ratio, patch_size=a.patch_size,
                        image_size=a.image_size, use_swiglu_ffn=a.use_swiglu_ffn, layer_norm_eps=1e-6)


class Dinov2Encoder(torch.nn.Module):
    def __init__(self, hf_model):
        super().__init__()
        self.model = hf_model

    @torch.no_grad()
    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).pooler_output


def load_dinov2(path: str | Path, arch: str | Dinov2Arch = "base", device: str = "cpu") -> Dinov2Encoder:
    """``path``: a transformers model directory (config.json + weights) or one weights file."""
    from transformers import Dinov2Model

    a = ARCHS[arch] if isinstance(arch, str) else arch
    p = Path(path)
    if p.is_dir():
        m = hf_from_dir(Dinov2Model, p, what=f"DINOv2 {arch}")
    else:
        m = hf_from_single_file(Dinov2Model, dinov2_config(a), p, what=f"DINOv2 {arch}")
    return Dinov2Encoder(m).eval().to(device)


def dinov2_preprocess(images: list[np.ndarray] | np.ndarray, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """BitImageProcessor defaults of facebook/dinov2-*: (N,H,W,3) uint8 → (N,3,224,224) float."""
    from PIL import Image

    arr = list(images) if isinstance(images, list) else ([images] if np.asarray(images).ndim == 3 else list(images))
    out = []
    for a in arr:
        h, w = a.shape[:2]
        short, long = (w, h) if w <= h else (h, w)
        ns, nl = resize, int(resize * long / short)
        nw, nh = (ns, nl) if w <= h else (nl, ns)
        im = np.asarray(Image.fromarray(np.ascontiguousarray(a)).resize((nw, nh), Image.BICUBIC), dtype=np.float32)
        top, left = (nh - crop) // 2, (nw - crop) // 2
        im = im[top:top + crop, left:left + crop] / 255.0
        im = (im - np.array(IMAGENET_MEAN, dtype=np.float32)) / np.array(IMAGENET_STD, dtype=np.float32)
        out.append(torch.from_numpy(im.transpose(2, 0, 1).copy()))
    return torch.stack(out)
