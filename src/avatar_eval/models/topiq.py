"""TOPIQ (CFANet) through pyiqa, for THEval global aesthetics and face quality.

Route: optional extra ``avatar-eval[iqa]`` (see :mod:`avatar_eval.models.musiq`). Checkpoints come
from our weight resolution as ``pretrained_model_path``.

* ``topiq_iaa`` — pyiqa ``topiq_iaa`` (Swin-B backbone, AVA): frames resized inside pyiqa to
  384² (antialiased), output a 1–10 aesthetic score. pyiqa builds the Swin backbone with timm's
  ImageNet initialisation first (timm may fetch it once; it is then overwritten by the checkpoint).
* ``topiq_nr_face`` — pyiqa ``topiq_nr-face`` (ResNet-50, CGFIQA): pyiqa aligns and crops the face
  itself (facexlib RetinaFace + parsing; 512²) and raises when no face is found. Its facexlib
  detector weights are fetched by facexlib on first use.
"""

from __future__ import annotations

from pathlib import Path

from .common import catalog_weight
from .musiq import load_pyiqa_metric

W_IAA = catalog_weight("topiq_iaa")
W_FACE = catalog_weight("topiq_nr_face")


def load_topiq_iaa(path: str | Path, device: str = "cpu"):
    return load_pyiqa_metric("topiq_iaa", path, device)


def load_topiq_face(path: str | Path, device: str = "cpu"):
    # the ResNet-50 ImageNet initialisation is overwritten by the checkpoint: do not download it
    return load_pyiqa_metric("topiq_nr-face", path, device, backbone_pretrain=False)
