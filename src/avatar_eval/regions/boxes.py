"""Region boxes: JWB-DH's public-code rules (``compat``) and temporally smoothed squares (default).

Compat (``deepreasonings/WholeBodyBenchmark`` ``process_video_hands_videos.py``), per frame:

* keep keypoints with score > 0.3; box = integer min/max of the kept points, clipped to the frame;
* face: expanded by ``int(0.5·w)`` / ``int(0.5·h)`` on each side; if narrower or shorter than
  50 px, replaced by the 50×50 box around its centre (clipped);
* hands: ONE box around the kept points of both hands; expanded by ``int(max(w, h))`` on each side
  when w < 20 or h < 20, else by ``int(0.5·w)`` / ``int(0.5·h)``; an empty box drops the frame;
* frames without kept points are dropped; then only boxes whose area lies in [2000, 10000] px²
  (face) or [2000, 15000] px² (hands) are kept, and if none is, all are kept;
* the crop video is the kept crops in frame order, each resized (``cv2.resize`` bilinear) to the
  first kept crop's size.

Default: a square per frame around the region's keypoints (side = larger extent × (1 + 2·expand),
at least ``min_side``), smoothed by a trailing moving mean over the last ``window`` frames (default
3: the frame and the two before it) of the frames where the region was found; a frame with no
detection in its window holds the previous box; frames before the first detection have no box. The
smoothing is causal, so the streamed crops, the per-frame crop providers of the VBench metrics and
the offline boxes are identical. Every frame keeps its place: ``present`` says where the region was
actually detected, and metrics count the rest as missing. ``hands`` is one square around the
points of both hands (JWB-DH's notion of the hand region); ``left_hand`` / ``right_hand`` are the
person's own hands.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

JWBDH_SCORE_THR = 0.3
JWBDH_AREA: dict[str, tuple[int, int]] = {"face": (2000, 10000), "hands": (2000, 15000)}

#: default-mode geometry per crop region: expansion per side (fraction of the larger extent),
#: minimum side in source px, output size (square) of the crop videos
DEFAULT_REGION_PARAMS: dict[str, dict[str, float]] = {
    "face": {"expand": 0.3, "min_side": 48, "out": 224},
    "mouth": {"expand": 0.25, "min_side": 24, "out": 128},
    "hands": {"expand": 0.25, "min_side": 48, "out": 224},
    "left_hand": {"expand": 0.5, "min_side": 32, "out": 224},
    "right_hand": {"expand": 0.5, "min_side": 32, "out": 224},
}
DEFAULT_WINDOW = 3

Box = tuple[int, int, int, int]


# ---------------------------------------------------------------------- compat (JWB-DH)
def _minmax_int(pts: np.ndarray, W: int, H: int) -> tuple[int, int, int, int]:
    min_x = max(0, int(np.min(pts[:, 0])))
    min_y = max(0, int(np.min(pts[:, 1])))
    max_x = min(W, int(np.max(pts[:, 0])))
    max_y = min(H, int(np.max(pts[:, 1])))
    return min_x, min_y, max_x, max_y


def _kept(pts: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(sc) & (sc > thr) & np.isfinite(pts[:, :2]).all(axis=1)
    return pts[ok, :2]


def jwbdh_face_box(pts: np.ndarray, scores: np.ndarray, W: int, H: int, thr: float = JWBDH_SCORE_THR) -> Box | None:
    v = _kept(pts, scores, thr)
    if len(v) == 0:
        return None
    min_x, min_y, max_x, max_y = _minmax_int(v, W, H)
    width, height = max_x - min_x, max_y - min_y
    min_x = max(0, min_x - int(width * 0.5))
    min_y = max(0, min_y - int(height * 0.5))
    max_x = min(W, max_x + int(width * 0.5))
    max_y = min(H, max_y + int(height * 0.5))
    if (max_x - min_x) < 50 or (max_y - min_y) < 50:
        cx, cy = (min_x + max_x) // 2, (min_y + max_y) // 2
        min_x, min_y = max(0, cx - 25), max(0, cy - 25)
        max_x, max_y = min(W, cx + 25), min(H, cy + 25)
    if max_x <= min_x or max_y <= min_y:  # empty crop: JWB-DH saves nothing for it
        return None
    return (min_x, min_y, max_x, max_y)


def jwbdh_hand_box(pts: np.ndarray, scores: np.ndarray, W: int, H: int, thr: float = JWBDH_SCORE_THR) -> Box | None:
    """``pts`` (K, 2) / ``scores`` (K,) of BOTH hands stacked (JWB-DH unions the two hands)."""
    v = _kept(pts, scores, thr)
    if len(v) == 0:
        return None
    min_x, min_y, max_x, max_y = _minmax_int(v, W, H)
    width, height = max_x - min_x, max_y - min_y
    expansion = max(width, height) * 1.0
    if width < 20 or height < 20:
        min_x = max(0, min_x - int(expansion))
        min_y = max(0, min_y - int(expansion))
        max_x = min(W, max_x + int(expansion))
        max_y = min(H, max_y + int(expansion))
    else:
        min_x = max(0, min_x - int(width * 0.5))
        min_y = max(0, min_y - int(height * 0.5))
        max_x = min(W, max_x + int(width * 0.5))
        max_y = min(H, max_y + int(height * 0.5))
    if min_x >= max_x or min_y >= max_y:
        return None
    return (min_x, min_y, max_x, max_y)


def jwbdh_box(region: str, pts: np.ndarray, scores: np.ndarray, W: int, H: int) -> Box | None:
    if region == "face":
        return jwbdh_face_box(pts, scores, W, H)
    if region == "hands":
        return jwbdh_hand_box(pts, scores, W, H)
    raise KeyError(f"JWB-DH crops only face and hands, not {region!r}")


def box_area(b: Box) -> int:
    return int((b[2] - b[0]) * (b[3] - b[1]))


def jwbdh_area_keep(region: str, boxes: dict[int, Box]) -> tuple[list[int], dict[str, int]]:
    """Frame indices kept by JWB-DH's area filter (all frames if none passes) + counts."""
    lo, hi = JWBDH_AREA[region]
    kept, small, big = [], 0, 0
    for i, b in boxes.items():
        a = box_area(b)
        if lo <= a <= hi:
            kept.append(i)
        elif a < lo:
            small += 1
        else:
            big += 1
    fallback = False
    if not kept and boxes:
        kept = list(boxes)
        fallback = True
    return kept, {"detected": len(boxes), "kept": len(kept), "too_small": small, "too_big": big,
                  "fallback_all": int(fallback)}


# ---------------------------------------------------------------------- default (smoothed squares)
def square_from_points(pts: np.ndarray, expand: float, min_side: float) -> np.ndarray:
    """(cx, cy, side) of the square around the finite points, NaN×3 when there are none."""
    p = np.asarray(pts, dtype=np.float64)[:, :2]
    p = p[np.isfinite(p).all(axis=1)]
    if len(p) == 0:
        return np.full(3, np.nan)
    lo, hi = p.min(axis=0), p.max(axis=0)
    side = max(float((hi - lo).max()) * (1.0 + 2.0 * expand), float(min_side))
    c = (lo + hi) / 2.0
    return np.array([c[0], c[1], side])


def smooth_squares(raw: np.ndarray, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Trailing mean over the last ``window`` frames of the present rows; hold the last box in gaps."""
    raw = np.asarray(raw, dtype=np.float64)
    sm = CausalSmoother(window, raw.shape[1] if raw.ndim == 2 else 3)
    return np.asarray([sm.push(r) for r in raw]).reshape(raw.shape)


class CausalSmoother:
    """Streaming form of :func:`smooth_squares` (identical results, one row at a time)."""

    def __init__(self, window: int = DEFAULT_WINDOW, dim: int = 3):
        from collections import deque

        self.window = max(1, int(window))
        self.buf: "deque[np.ndarray]" = deque(maxlen=self.window)
        self.prev = np.full(dim, np.nan)

    def push(self, raw: np.ndarray) -> np.ndarray:
        self.buf.append(np.asarray(raw, dtype=np.float64))
        rows = np.asarray(self.buf)
        ok = np.isfinite(rows).all(axis=1)
        if ok.any():
            self.prev = rows[ok].mean(axis=0)
        return self.prev.copy()


def square_to_xyxy(sq: np.ndarray) -> np.ndarray:
    sq = np.asarray(sq, dtype=np.float64)
    h = sq[..., 2] / 2.0
    return np.stack([sq[..., 0] - h, sq[..., 1] - h, sq[..., 0] + h, sq[..., 1] + h], axis=-1)


def xyxy_to_square(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    return np.stack([(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2,
                     np.maximum(b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])], axis=-1)


def crop_square(rgb: np.ndarray, sq: np.ndarray, out: int) -> np.ndarray:
    """Crop the square (cx, cy, side) (zero-padded outside the frame) resized to out×out."""
    import cv2

    H, W = rgb.shape[:2]
    side = max(1, int(round(sq[2])))
    x0 = int(round(sq[0] - side / 2.0))
    y0 = int(round(sq[1] - side / 2.0))
    x1, y1 = x0 + side, y0 + side
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if (cx0, cy0, cx1, cy1) == (x0, y0, x1, y1):
        patch = rgb[y0:y1, x0:x1]  # inside the frame: resize the view (OpenCV reads the row stride; same pixels)
    else:
        patch = np.zeros((side, side, 3), dtype=np.uint8)
        if cx1 > cx0 and cy1 > cy0:
            patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = rgb[cy0:cy1, cx0:cx1]
    interp = cv2.INTER_AREA if side > out else cv2.INTER_LINEAR
    return cv2.resize(patch, (out, out), interpolation=interp)


def crop_xyxy(rgb: np.ndarray, b: Box) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in b)
    return rgb[y0:y1, x0:x1]


@dataclass
class RegionBoxes:
    """Boxes of one region over a clip (default mode): one row per frame.

    ``squares`` (T, 3) smoothed (cx, cy, side) px, NaN before the first detection;
    ``present`` (T,) bool: the region was detected (or given by the manifest) on that frame.
    """

    region: str
    squares: np.ndarray
    present: np.ndarray
    source: str  # "detector" | "manifest"
    out_size: int
    params: dict = field(default_factory=dict)

    @property
    def xyxy(self) -> np.ndarray:
        return square_to_xyxy(self.squares)

    @property
    def n_frames(self) -> int:
        return int(self.present.shape[0])

    @property
    def n_present(self) -> int:
        return int(self.present.sum())

    @property
    def n_missing(self) -> int:
        return self.n_frames - self.n_present


def default_region_boxes(tracks: Any, region: str, params: dict | None = None, window: int = DEFAULT_WINDOW) -> RegionBoxes:
    """Smoothed squares of ``region`` from a :class:`~avatar_eval.regions.tracks.RegionTracks`."""
    p = dict(DEFAULT_REGION_PARAMS[region], **(params or {}))
    pts, sc = tracks.region_points(region)
    raw = np.full((tracks.n_frames, 3), np.nan)
    for t in range(tracks.n_frames):
        if np.isfinite(sc[t]).any():
            raw[t] = square_from_points(pts[t], p["expand"], p["min_side"])
    present = np.isfinite(raw).all(axis=1)
    return RegionBoxes(region, smooth_squares(raw, window), present, "detector", int(p["out"]), p)


# ---------------------------------------------------------------------- manifest boxes
MANIFEST_REGIONS = ("face", "mouth", "hands", "left_hand", "right_hand")


def load_manifest_boxes(spec: Any, width: int | None = None, height: int | None = None) -> dict[str, np.ndarray]:
    """Per-frame boxes supplied by a benchmark: ``{region: (T, 4) float xyxy px, NaN = none}``.

    ``spec`` is a dict or the path of a ``.json`` / ``.npz`` file. JSON form::

        {"format": "xyxy" | "xywh", "normalized": false,
         "boxes": {"face": [[x0, y0, x1, y1], null, ...], "left_hand": [...], ...}}

    (the top-level dict may also be the ``boxes`` mapping itself). ``.npz``: one (T, 4) array per
    region (NaN rows = none), optional ``format`` / ``normalized`` entries. Region names:
    ``face``, ``mouth``, ``hands`` (one box for both hands), ``left_hand``, ``right_hand``.
    """
    fmt, normalized = "xyxy", False
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if not p.exists():
            raise InputError(f"region boxes file not found: {p}")
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
            fmt = str(data.pop("format", "xyxy"))
            normalized = bool(data.pop("normalized", False))
            boxes = data
        else:
            try:
                data = json.loads(p.read_text())
            except ValueError as e:
                raise InputError(f"region boxes file {p.name}: not JSON ({e})") from e
            spec = data
            boxes = None
    else:
        boxes = None
    if boxes is None:
        if not isinstance(spec, dict):
            raise InputError("region boxes: expected a mapping region -> list of boxes")
        fmt = str(spec.get("format", "xyxy"))
        normalized = bool(spec.get("normalized", False))
        boxes = spec.get("boxes", {k: v for k, v in spec.items() if k in MANIFEST_REGIONS})
    out: dict[str, np.ndarray] = {}
    for region, rows in boxes.items():
        if region not in MANIFEST_REGIONS:
            raise InputError(f"region boxes: unknown region {region!r} (known: {', '.join(MANIFEST_REGIONS)})")
        if isinstance(rows, np.ndarray):
            arr = rows.astype(np.float64).reshape(-1, 4)
        else:
            arr = np.full((len(rows), 4), np.nan)
            for i, r in enumerate(rows):
                if r is None:
                    continue
                if len(r) != 4:
                    raise InputError(f"region boxes: {region} frame {i}: expected 4 numbers, got {r!r}")
                arr[i] = [float(v) for v in r]
        if fmt == "xywh":
            arr[:, 2] += arr[:, 0]
            arr[:, 3] += arr[:, 1]
        elif fmt != "xyxy":
            raise InputError(f"region boxes: format must be 'xyxy' or 'xywh', got {fmt!r}")
        if normalized:
            if width is None or height is None:
                raise InputError("normalised region boxes need the frame size")
            arr = arr * np.array([width, height, width, height], dtype=np.float64)
        bad = np.isfinite(arr).all(axis=1) & ((arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1]))
        if bad.any():
            raise InputError(f"region boxes: {region}: {int(bad.sum())} empty boxes (x1 <= x0 or y1 <= y0)")
        out[region] = arr
    return out


def manifest_spec_for(ctx: Any) -> Any:
    """The manifest boxes that apply to this clip, or None.

    Looked up in ``ctx.options["region_boxes"]`` (a mapping or a path) then
    ``ctx.options["regions_file"]`` (the manifest's per-sample ``regions`` file). A spec with a
    ``models`` mapping gives boxes per model (``"gt"`` for the GT clip); otherwise the boxes are
    the GT clip's (a benchmark annotates its GT videos) and apply to the GT context only, unless
    the spec says ``"apply_to": "all"``.
    """
    opts = getattr(ctx, "options", None) or {}
    spec = opts.get("region_boxes")
    if spec is None:
        spec = opts.get("regions_file")
    if spec is None:
        return None
    model = getattr(ctx, "model", "") or ""
    data = spec
    if isinstance(spec, (str, os.PathLike)) and str(spec).endswith(".json"):
        p = Path(spec)
        if not p.exists():
            raise InputError(f"region boxes file not found: {p}")
        try:
            data = json.loads(p.read_text())
        except ValueError as e:
            raise InputError(f"region boxes file {p.name}: not JSON ({e})") from e
    if isinstance(data, dict) and "models" in data:
        return data["models"].get(model)
    apply_to = data.get("apply_to", "gt") if isinstance(data, dict) else "gt"
    if apply_to == "all" or model in ("gt", ""):
        return data
    return None


def manifest_region_boxes(arr: np.ndarray, region: str, n_frames: int, out_size: int | None = None) -> RegionBoxes:
    """Default-mode boxes from manifest boxes: squares (no extra margin, no smoothing)."""
    T = n_frames
    a = np.full((T, 4), np.nan)
    n = min(T, arr.shape[0])
    a[:n] = arr[:n]
    sq = xyxy_to_square(a)
    present = np.isfinite(sq).all(axis=1)
    size = out_size or int(DEFAULT_REGION_PARAMS.get(region, {"out": 224})["out"])
    return RegionBoxes(region, sq, present, "manifest", size, {"n_manifest_rows": int(arr.shape[0])})
