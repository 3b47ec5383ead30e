"""LAION aesthetic predictor head (``sa_0_4_vit_l_14_linear.pth``): ``nn.Linear(768, 1)`` on
L2-normalised CLIP ViT-L/14 image embeddings, as VBench ``aesthetic_quality`` loads it
(state dict keys ``weight`` (1, 768) and ``bias`` (1,)).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from .common import catalog_weight, load_checkpoint, load_strict

WEIGHT = catalog_weight("laion_aesthetic_vit_l14")


def load_laion_head(path: str | Path, dim: int = 768, device: str = "cpu") -> torch.nn.Linear:
    head = torch.nn.Linear(dim, 1)
    load_strict(head, load_checkpoint(path), what="LAION aesthetic head")
    return head.eval().to(device)


@torch.no_grad()
def aesthetic_scores(clip_embeds: torch.Tensor, head: torch.nn.Linear) -> torch.Tensor:
    """Raw LAION scores (≈1–10) for CLIP image embeddings (normalised here, as VBench does)."""
    return head(F.normalize(clip_embeds.float(), dim=-1, p=2)).squeeze(-1)
