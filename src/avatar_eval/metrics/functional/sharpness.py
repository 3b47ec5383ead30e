"""CPBD: cumulative probability of blur detection (Narvekar & Karam, "A No-Reference Image Blur
Metric Based on the Cumulative Probability of Blur Detection (CPBD)", IEEE TIP 20(9), 2011).

Implemented from the paper, with the edge maps and constants of the authors' reference code as
ported to Python in the ``cpbd`` package (1.0.7; checked against it in
tests/metrics/functional/test_sharpness.py):

1. grey image I (float, 0–255; :func:`luma` is PIL's ``L``: ITU-R 601 with rounding);
2. edge blocks: 64×64 blocks (full blocks only, from the top-left) holding more than
   T = 0.2 % Canny edge pixels (``skimage.feature.canny`` defaults);
3. edge pixels for width measurement: Sobel horizontal-derivative edges (vertical edges),
   squared strength above 2·sqrt(mean strength²), thinned to local maxima (Octave's ``edge``);
4. edge width (Marziliano et al. 2002): along the row, the distance between the local extrema on
   either side of the edge pixel (each side capped at 101 px), measured for edge pixels whose
   gradient direction (``np.gradient``, quantised to 45°) is 0° or ±180°; as in the reference
   code, a pixel with zero horizontal gradient gets direction 0°;
5. per edge block, w_JNB = 5 if its contrast (max − min) ≤ 50 else 3, and
   P_blur = 1 − exp(−|w / w_JNB|^β), β = 3.6;
6. CPBD = P(P_blur ≤ P_JNB = 63 %) over all measured edge pixels of all edge blocks (the
   reference's 1 %-bin histogram: round(100·P_blur) ≤ 63).

:func:`cpbd_blocks` returns per-block counts so a region's CPBD is the ratio of summed counts over
its blocks (how the ``sharpness.cpbd.face`` metric works on the one decode pass).
"""

from __future__ import annotations

import numpy as np

BLOCK = 64
EDGE_BLOCK_FRACTION = 0.002
BETA = 3.6
P_JNB_BIN = 63  # histogram bins 0..63 (P_blur rounded to 1 %) count as "blur not detected"
MAX_MARGIN = 100


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 grey as PIL's ``convert("L")``: (299 R + 587 G + 114 B) / 1000, fixed-point rounded."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return rgb.astype(np.uint8)
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def sobel_vertical_edges(image: np.ndarray) -> np.ndarray:
    """Binary Sobel edges of the horizontal derivative, thresholded and thinned as Octave's ``edge``."""
    from scipy.ndimage import convolve

    k = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]) / 8.0
    s = np.square(convolve(image, k))  # scipy's default "reflect" border
    s[s <= 2.0 * np.sqrt(s.mean())] = 0.0
    z = np.zeros_like(s)
    left = np.concatenate([z[:, :1], s[:, :-1]], axis=1)
    right = np.concatenate([s[:, 1:], z[:, :1]], axis=1)
    up = np.concatenate([z[:1], s[:-1]], axis=0)
    down = np.concatenate([s[1:], z[:1]], axis=0)
    return ((s > left) & (s > right)) | ((s > up) & (s > down))


def _run_back(b: np.ndarray) -> np.ndarray:
    """For each (row, k): number of consecutive True at k, k−1, k−2, ... (0 if b[row, k] False)."""
    idx = np.arange(b.shape[1])[None, :]
    last_false = np.maximum.accumulate(np.where(~b, idx, -1), axis=1)
    return idx - last_false


def _run_fwd(b: np.ndarray) -> np.ndarray:
    """For each (row, k): number of consecutive True at k, k+1, ..."""
    return _run_back(b[:, ::-1])[:, ::-1]


def edge_widths(image: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Marziliano edge width at each edge pixel (0 elsewhere and where not measured)."""
    img = np.asarray(image, dtype=np.float64)
    H, W = img.shape
    out = np.zeros((H, W))
    if H < 3 or W < 3:
        return out
    gy, gx = np.gradient(img)
    ang = np.where(gx != 0, np.degrees(np.arctan2(gy, gx)), 0.0)
    q = 45.0 * np.round(ang / 45.0)
    if not np.any(ang):
        return out
    # d[k] = I[k−1] − I[k] (step leftwards), e[k] = I[k+1] − I[k] (step rightwards)
    d = np.full((H, W), np.nan)
    d[:, 1:] = img[:, :-1] - img[:, 1:]
    e = np.full((H, W), np.nan)
    e[:, :-1] = img[:, 1:] - img[:, :-1]
    m = np.zeros((H, W), bool)
    m[1:-1, 1:-1] = edges[1:-1, 1:-1].astype(bool)
    falling = m & (np.abs(q) == 180)  # intensity decreasing left → right
    rising = m & (q == 0)
    for mask, left_ok, right_ok in ((falling, d > 0, e < 0), (rising, d < 0, e > 0)):
        if not mask.any():
            continue
        rl = np.minimum(_run_back(left_ok), MAX_MARGIN)  # margins walked leftwards from k
        rr = np.minimum(_run_fwd(right_ok), MAX_MARGIN)
        r, c = np.nonzero(mask)
        out[r, c] = (rl[r, c - 1] + 1) + (rr[r, np.minimum(c + 1, W - 1)] + 1)
    return out


def cpbd_blocks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 64×64 block (full blocks only): (n measured edge pixels, n with blur not detected),
    both (H // 64, W // 64) int arrays, zero for non-edge blocks."""
    from skimage.feature import canny

    img = np.asarray(gray, dtype=np.float64)
    H, W = img.shape
    nby, nbx = H // BLOCK, W // BLOCK
    total = np.zeros((nby, nbx), dtype=np.int64)
    sharp = np.zeros((nby, nbx), dtype=np.int64)
    if nby == 0 or nbx == 0:
        return total, sharp
    can = canny(img)
    widths = edge_widths(img, sobel_vertical_edges(img))
    crop = (slice(0, nby * BLOCK), slice(0, nbx * BLOCK))

    def blocks(a):
        return a[crop].reshape(nby, BLOCK, nbx, BLOCK).swapaxes(1, 2)

    cb = blocks(can)
    edge_block = cb.sum(axis=(2, 3)) > BLOCK * BLOCK * EDGE_BLOCK_FRACTION
    ib = blocks(img)
    contrast = (ib.max(axis=(2, 3)) - ib.min(axis=(2, 3))).astype(int)
    wjnb = np.where(contrast <= 50, 5.0, 3.0)
    wb = blocks(widths)
    measured = wb != 0
    p = 1.0 - np.exp(-np.abs(wb / wjnb[:, :, None, None]) ** BETA)
    not_blurred = measured & (np.round(p * 100.0) <= P_JNB_BIN)
    total[edge_block] = measured.sum(axis=(2, 3))[edge_block]
    sharp[edge_block] = not_blurred.sum(axis=(2, 3))[edge_block]
    return total, sharp


def cpbd(gray: np.ndarray) -> float:
    """CPBD of a grey image (0–1, higher = sharper); NaN without a measured edge in an edge block
    (the reference code returns 0.0 there)."""
    total, sharp = cpbd_blocks(gray)
    n = int(total.sum())
    return float(sharp.sum() / n) if n else float("nan")


def blocks_in_box(shape_blocks: tuple[int, int], box: np.ndarray, min_overlap: float = 0.5) -> np.ndarray:
    """(nby, nbx) bool: blocks whose area lies at least ``min_overlap`` inside ``box`` (x0, y0, x1, y1 px)."""
    nby, nbx = shape_blocks
    x0, y0, x1, y1 = (float(v) for v in box)
    bx0 = np.arange(nbx) * BLOCK
    by0 = np.arange(nby) * BLOCK
    ox = np.clip(np.minimum(bx0 + BLOCK, x1) - np.maximum(bx0, x0), 0, None)
    oy = np.clip(np.minimum(by0 + BLOCK, y1) - np.maximum(by0, y0), 0, None)
    return (oy[:, None] * ox[None, :]) >= min_overlap * BLOCK * BLOCK
