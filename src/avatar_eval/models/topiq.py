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

from .common import declare_weight
from .musiq import load_pyiqa_metric

W_IAA = declare_weight(
    "topiq_iaa",
    url="https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/cfanet_iaa_ava_swin-393b41b4.pth",
    filename="cfanet_iaa_ava_swin-393b41b4.pth",
    description="TOPIQ IAA (Swin, AVA) — THEval global aesthetics (pyiqa topiq_iaa)",
)
W_FACE = declare_weight(
    "topiq_nr_face",
    url="https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/topiq_nr_cgfiqa_res50-0a8b8e4f.pth",
    filename="topiq_nr_cgfiqa_res50-0a8b8e4f.pth",
    description="TOPIQ face IQA (ResNet-50, CGFIQA) — THEval face quality (pyiqa topiq_nr-face)",
)


def load_topiq_iaa(path: str | Path, device: str = "cpu"):
    return load_pyiqa_metric("topiq_iaa", path, device)


def load_topiq_face(path: str | Path, device: str = "cpu"):
    # the ResNet-50 ImageNet initialisation is overwritten by the checkpoint: do not download it
    return load_pyiqa_metric("topiq_nr-face", path, device, backbone_pretrain=False)
