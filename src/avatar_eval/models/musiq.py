"""MUSIQ through pyiqa (chaofengc/IQA-PyTorch), the reference implementation VBench and THEval call.

Route: optional extra ``avatar-eval[iqa]`` (pyiqa, which needs torchvision). The checkpoint comes
from our weight resolution and is handed to pyiqa as ``pretrained_model_path``, so pyiqa never
downloads it. Where pyiqa cannot be imported (here: torchvision does not import with the CPU
torch) the metrics report the weights/extra as unavailable; the preprocessing around the network
(resizing, crops, padding) is ours and tested on its own.

* ``musiq_spaq`` — VBench imaging quality (``pyiqa.archs.musiq_arch.MUSIQ(pretrained_model_path=…)``),
  input /255 in [0, 1], one image per forward (any batch of equal-size images gives the same
  numbers: MUSIQ's multi-scale patches are masked per image).
* ``musiq_koniq`` — pyiqa's default ``musiq`` (KonIQ), THEval mouth quality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WeightsUnavailable
from .common import catalog_weight

W_SPAQ = catalog_weight("musiq_spaq")
W_KONIQ = catalog_weight("musiq_koniq")

PYIQA_NAMES = {W_SPAQ: "musiq-spaq", W_KONIQ: "musiq"}


def import_pyiqa():
    try:
        import pyiqa  # noqa: F401
    except Exception as e:  # ImportError, or torchvision failing to import with this torch
        raise WeightsUnavailable(
            f"pyiqa is needed for this metric (install the optional extra `avatar-eval[iqa]`; "
            f"pyiqa needs a torchvision matching torch): {type(e).__name__}: {e}"
        ) from e
    return pyiqa


def load_pyiqa_metric(pyiqa_name: str, path: str | Path, device: str = "cpu", **kwargs: Any):
    pyiqa = import_pyiqa()
    try:
        return pyiqa.create_metric(pyiqa_name, device=device, pretrained_model_path=str(path), **kwargs)
    except (OSError, ConnectionError) as e:  # pyiqa trying to download a backbone offline
        raise WeightsUnavailable(f"pyiqa {pyiqa_name}: {e}") from e


def load_musiq(weight: str, path: str | Path, device: str = "cpu"):
    return load_pyiqa_metric(PYIQA_NAMES[weight], path, device)


def score_images(metric, images: list[np.ndarray], device: str = "cpu") -> list[float]:
    """Score uint8 RGB images one size-group at a time (each as pyiqa's ``ToTensor`` would: /255)."""
    import torch

    out: list[float] = [float("nan")] * len(images)
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape, []).append(i)
    for _, idx in groups.items():
        x = torch.from_numpy(np.stack([images[i] for i in idx])).permute(0, 3, 1, 2).float().div(255.0).to(device)
        with torch.no_grad():
            s = metric(x).detach().float().cpu().reshape(-1).numpy()
        for k, i in enumerate(idx):
            out[i] = float(s[k])
    return out


def pad_batch_compat(images: list[np.ndarray]) -> np.ndarray:
    """THEval ``mouth_quality.pad_images``: paste each crop at the top-left of a black canvas of the
    batch's largest width and height (so a crop's score depends on its batch of 64)."""
    mh = max(im.shape[0] for im in images)
    mw = max(im.shape[1] for im in images)
    out = np.zeros((len(images), mh, mw, 3), dtype=np.uint8)
    for k, im in enumerate(images):
        out[k, : im.shape[0], : im.shape[1]] = im
    return out
