"""Classical optical flow (OpenCV DIS) and flow-warp frame interpolation for the offline VBench
variants (``vbench.dynamic_degree.offline``, ``vbench.motion_smoothness.offline``).

These are *different estimators* from VBench's RAFT and AMT-S: DIS is a coarse-to-fine patch
flow without learned priors (it under-estimates large, textureless motion and is noisier on
fine texture), and the interpolation here is a symmetric backward warp with linear-motion flow
approximations (no occlusion reasoning, no learned refinement). Their numbers are on the same
scale as VBench's but are not VBench's; they are reported under their own names.
"""

from __future__ import annotations

import numpy as np

DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


class DISFlow:
    """OpenCV DIS optical flow (``cv2.DISOpticalFlow``), deterministic, CPU, no weights."""

    def __init__(self, preset: str = "medium"):
        import cv2

        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(H, W, 2) flow from frame ``a`` to frame ``b`` in pixels (x, y)."""
        return self._dis.calc(_gray(a), _gray(b), None)


def warp_backward(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """out(x) = img(x + flow(x)), bilinear, border replicated."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = gx + flow[..., 0].astype(np.float32)
    my = gy + flow[..., 1].astype(np.float32)
    return cv2.remap(img, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def interpolate_midpoint(f0: np.ndarray, f1: np.ndarray, flow: DISFlow) -> np.ndarray:
    """Frame halfway between ``f0`` and ``f1`` (uint8 RGB), from the flows in both directions.

    Linear-motion approximation at t = ½ (Super-SloMo style): F_{t→0} = −¼F_{0→1} + ¼F_{1→0},
    F_{t→1} = ¼F_{0→1} − ¼F_{1→0}; the two backward warps are averaged.
    """
    f01 = flow(f0, f1)
    f10 = flow(f1, f0)
    ft0 = -0.25 * f01 + 0.25 * f10
    ft1 = 0.25 * f01 - 0.25 * f10
    w0 = warp_backward(f0, ft0).astype(np.float32)
    w1 = warp_backward(f1, ft1).astype(np.float32)
    return np.clip(np.rint((w0 + w1) / 2.0), 0, 255).astype(np.uint8)
