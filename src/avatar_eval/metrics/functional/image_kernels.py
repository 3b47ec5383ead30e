"""Compiled (numba) kernels of the uint8 SSIM / PSNR / pixel-cosine formulas in :mod:`.image`.

Same values bit for bit as the numpy paths there, at about a seventh of the CPU on a 1080p frame
pair (SSIM + PSNR + cosine 118 → 16.5 ms on a Xeon family 6 model 0xA7; issue 14: full-frame SSIM
dominated the JWB-DH pair pass). Why the values cannot move:

* window sums are exact integers (int32 column sums of x, y, x², y², xy over ``win`` rows, moved
  down a row at a time, then summed over ``win`` columns: at most win²·255² < 2³¹, and every
  intermediate of the integer updates stays in range), as the numpy path's integer box filter;
* the per-pixel float64 formula is the numpy path's operations in the same order, one IEEE-rounded
  operation each: numba compiles without ``fastmath``, so LLVM neither fuses a multiply and an add
  (no FMA contraction) nor reorders them; vector width does not change an elementwise result;
* the channel means add the interior map's values channel by channel in row-major order, as
  numpy's ``mean(axis=0)`` of the (pixels, C) map does for C >= 2 (sequential adds), one float64
  accumulator per channel, then divide once;
* ``error_model="numpy"``: a zero divisor gives inf/nan as numpy does instead of raising.

:mod:`.image` checks these kernels against its numpy path once per process on random images
(:func:`avatar_eval.metrics.functional.image._kernels_agree`) and uses the numpy path if numba is
missing or the check fails; the tests compare both on many shapes, windows and channel counts.
Compiled once per machine (``cache=True``: numba's cache next to this file, or its user cache when
that is read-only), about 2–3 s the first time. The same values natively (AVX-512) and under
qemu as Haswell-v4, Westmere and Zen 1: ``benchmarks/image_kernels_cpus.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _slide(ra, rb, oa, ob, cx, cy, cxx, cyy, cxy, sq):  # pragma: no cover - compiled
    """Move the column sums down one row: add row (ra, rb), remove row (oa, ob), in one pass (zero
    rows remove nothing: the first ``win`` rows); the added row's Σx², Σy², Σxy go to ``sq``
    (every image row is added exactly once)."""
    rxx = np.int32(0)
    ryy = np.int32(0)
    rxy = np.int32(0)
    for j in range(ra.shape[0]):
        x = np.int32(ra[j])
        y = np.int32(rb[j])
        u = np.int32(oa[j])
        v = np.int32(ob[j])
        xx = x * x
        yy = y * y
        xy = x * y
        cx[j] += x - u
        cy[j] += y - v
        cxx[j] += xx - u * u
        cyy[j] += yy - v * v
        cxy[j] += xy - u * v
        rxx += xx
        ryy += yy
        rxy += xy
    sq[0] += rxx
    sq[1] += ryy
    sq[2] += rxy


@njit(**_JIT)
def _hsum(col, h, L, C, win):  # pragma: no cover - compiled
    """Window sums over ``win`` columns (channel stride C) of one row of column sums."""
    for j in range(L):
        s = np.int32(0)
        for d in range(win):
            s += col[j + d * C]
        h[j] = s


@njit(**_JIT)
def _formula(hx, hy, hxx, hyy, hxy, L, scale, cov_norm, cov2, c1, c2, out):  # pragma: no cover - compiled
    """One interior row of the SSIM map from its window sums: :func:`.image._ssim_from_moments`'s
    operations in its order (each line one IEEE-rounded operation)."""
    for j in range(L):
        ux = np.float64(hx[j]) * scale
        uy = np.float64(hy[j]) * scale
        uxx = np.float64(hxx[j]) * scale
        uyy = np.float64(hyy[j]) * scale
        uxy = np.float64(hxy[j]) * scale
        uxuy = ux * uy
        ux = ux * ux
        uy = uy * uy
        uxx = uxx - ux  # B2 = cov·(uxx − ux² + uyy − uy²) + C2
        uxx = uxx + uyy
        uxx = uxx - uy
        uxx = uxx * cov_norm
        uxx = uxx + c2
        uxy = uxy - uxuy  # A2 = 2·cov·(uxy − ux·uy) + C2
        uxy = uxy * cov2
        uxy = uxy + c2
        uxuy = uxuy * 2.0  # A1 = 2·ux·uy + C1
        uxuy = uxuy + c1
        ux = ux + uy  # B1 = ux² + uy² + C1
        ux = ux + c1
        uxuy = uxuy * uxy
        ux = ux * uxx
        out[j] = uxuy / ux


@njit(**_JIT)
def _row(cx, cy, cxx, cyy, cxy, L, C, win, scale, cov_norm, cov2, c1, c2, out, h):  # pragma: no cover - compiled
    """One interior row of the SSIM map from the column sums; ``h`` (5, L) int32 scratch. Split in
    simple loops (window sums, then the formula) because LLVM vectorises each; fused, it does not
    (1.5× slower)."""
    _hsum(cx, h[0], L, C, win)
    _hsum(cy, h[1], L, C, win)
    _hsum(cxx, h[2], L, C, win)
    _hsum(cyy, h[3], L, C, win)
    _hsum(cxy, h[4], L, C, win)
    _formula(h[0], h[1], h[2], h[3], h[4], L, scale, cov_norm, cov2, c1, c2, out)


@njit(**_JIT)
def _accumulate(row, L, C, sums):  # pragma: no cover - compiled
    """Add a map row to the per-channel sums, pixel after pixel (numpy's mean(axis=0) order)."""
    if C == 3:
        s0 = sums[0]
        s1 = sums[1]
        s2 = sums[2]
        for j in range(0, L, 3):
            s0 += row[j]
            s1 += row[j + 1]
            s2 += row[j + 2]
        sums[0] = s0
        sums[1] = s1
        sums[2] = s2
    else:
        for j in range(0, L, C):
            for c in range(C):
                sums[c] += row[j + c]


@njit(**_JIT)
def ssim_channel_sums(a, b, win, C, scale, cov_norm, cov2, c1, c2, sums, sq):  # pragma: no cover - compiled
    """Per-channel sums of the interior SSIM map of uint8 images given as (H, W·C) rows, and in
    ``sq`` (int64, zeroed by the caller) the exact Σx², Σy², Σxy of the whole images (rows of at
    most 33 025 values, so a row's int32 sums of ≤ 255² stay below 2³¹: the caller checks).

    The common (C, win) pairs are spelled out as constants so LLVM unrolls and vectorises the
    window loop (a runtime channel stride keeps it scalar, 4× slower); other pairs take the
    generic call, same operations."""
    H, WC = a.shape
    pad = (win - 1) // 2
    L = WC - 2 * pad * C
    cx = np.zeros(WC, np.int32)
    cy = np.zeros(WC, np.int32)
    cxx = np.zeros(WC, np.int32)
    cyy = np.zeros(WC, np.int32)
    cxy = np.zeros(WC, np.int32)
    row = np.empty(L, np.float64)
    h = np.empty((5, L), np.int32)
    zero = np.zeros(WC, np.uint8)
    for k in range(win):
        _slide(a[k], b[k], zero, zero, cx, cy, cxx, cyy, cxy, sq)
    for i in range(H - 2 * pad):
        if i > 0:
            _slide(a[i + win - 1], b[i + win - 1], a[i - 1], b[i - 1], cx, cy, cxx, cyy, cxy, sq)
        if C == 3 and win == 7:
            _row(cx, cy, cxx, cyy, cxy, L, 3, 7, scale, cov_norm, cov2, c1, c2, row, h)
        elif C == 3 and win == 5:
            _row(cx, cy, cxx, cyy, cxy, L, 3, 5, scale, cov_norm, cov2, c1, c2, row, h)
        elif C == 3 and win == 3:
            _row(cx, cy, cxx, cyy, cxy, L, 3, 3, scale, cov_norm, cov2, c1, c2, row, h)
        else:
            _row(cx, cy, cxx, cyy, cxy, L, C, win, scale, cov_norm, cov2, c1, c2, row, h)
        _accumulate(row, L, C, sums)
    return sums


@njit(**_JIT)
def square_sums(a, b, out):  # pragma: no cover - compiled
    """Exact Σ(a−b)², Σa², Σb² of contiguous uint8 images into int64 ``out`` (int32 partial sums
    over runs of 16 384 values of at most 255², below 2³¹; a run is a contiguous slice so the loop
    vectorises)."""
    n = a.size
    fa = a.reshape(n)
    fb = b.reshape(n)
    dd = np.int64(0)
    xx = np.int64(0)
    yy = np.int64(0)
    for j0 in range(0, n, 16384):
        m = min(16384, n - j0)
        sa = fa[j0 : j0 + m]
        sb = fb[j0 : j0 + m]
        rd = np.int32(0)
        rx = np.int32(0)
        ry = np.int32(0)
        for j in range(m):
            x = np.int32(sa[j])
            y = np.int32(sb[j])
            d = x - y
            rd += d * d
            rx += x * x
            ry += y * y
        dd += rd
        xx += rx
        yy += ry
    out[0] = dd
    out[1] = xx
    out[2] = yy
    return out
