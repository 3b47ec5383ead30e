"""Per-frame crop providers that put the VBench dimensions on JWB-DH's regions.

:func:`avatar_eval.metrics.vbench.register_region` takes ``provider(ctx) -> (frame -> crop | None)``
and runs every VBench analyzer of the region in the clip's single decode pass. Registered here:

* ``face``, ``hands``, ``left_hand``, ``right_hand``: the default-mode crops (the same pixels as the
  ``region_crops`` artifact: smoothed fixed-size squares), ``None`` on frames where the region was
  not detected (VBench then skips the frame and reports it in ``frames_without_region``);
* ``face.compat``, ``hands.compat``: JWB-DH's per-frame boxes (public-code rules) with its area
  filter applied frame by frame; VBench's loader resizes each crop to the first one, as JWB-DH's
  crop videos are. Difference to the public code: its "keep every crop when none passes the area
  filter" fallback needs the whole clip and cannot be applied per frame; the offline artifact
  ``region_crops.compat`` does apply it.

Metric names: ``vbench.<dimension>.<region>`` (e.g. ``vbench.subject_consistency.face``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import boxes as B

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext

DEFAULT_VBENCH_REGIONS = ("face", "hands", "left_hand", "right_hand")
COMPAT_VBENCH_REGIONS = ("face.compat", "hands.compat")


def default_provider(region: str) -> Callable[["ClipContext"], Callable[["Frame"], np.ndarray | None]]:
    def provider(ctx: "ClipContext"):
        from .crops import DefaultRegionCropper

        cropper = DefaultRegionCropper(ctx, (region,))
        try:
            weakref.finalize(ctx, cropper.close)
        except TypeError:  # not weak-referenceable: the detector lives as long as the process
            pass

        def crop(frame: "Frame") -> np.ndarray | None:
            img, present, _ = cropper.crop(frame, region)
            return img if present else None

        return crop

    return provider


def compat_provider(region: str) -> Callable[["ClipContext"], Callable[["Frame"], np.ndarray | None]]:
    def provider(ctx: "ClipContext"):
        from .crops import _DetectionSource, _manifest

        manifest = _manifest(ctx)
        src = _DetectionSource(ctx, region not in manifest)
        try:
            weakref.finalize(ctx, src.close)
        except TypeError:
            pass
        lo, hi = B.JWBDH_AREA[region]

        def crop(frame: "Frame") -> np.ndarray | None:
            H, W = frame.rgb.shape[:2]
            if region in manifest:
                arr = manifest[region]
                if frame.index >= arr.shape[0] or not np.isfinite(arr[frame.index]).all():
                    return None
                x0, y0, x1, y1 = arr[frame.index]
                b = (max(0, int(x0)), max(0, int(y0)), min(W, int(x1)), min(H, int(y1)))
                if b[2] <= b[0] or b[3] <= b[1]:
                    return None
                return np.ascontiguousarray(B.crop_xyxy(frame.rgb, b))
            pts, sc = src.points(frame, region)
            b = B.jwbdh_box(region, pts, sc, W, H)
            if b is None or not (lo <= B.box_area(b) <= hi):
                return None
            return np.ascontiguousarray(B.crop_xyxy(frame.rgb, b))

        return crop

    return provider


def register_vbench_regions() -> list[str]:
    """Register the regions with the VBench module; returns the metric names it created."""
    from ..metrics import vbench

    names: list[str] = []
    for r in DEFAULT_VBENCH_REGIONS:
        names += vbench.register_region(r, default_provider(r))
    for r in COMPAT_VBENCH_REGIONS:
        names += vbench.register_region(r, compat_provider(r.split(".")[0]))
    return names
