"""Per-image formulas of the JWB-DH co-speech metrics (numpy / OpenCV, no model).

* :func:`ssim` reproduces ``skimage.metrics.structural_similarity`` (uniform 7×7 window, sample
  covariance, ``K1=0.01``, ``K2=0.03``, reflect borders, mean over the valid interior, mean over
  channels) and agrees with it to 1e-6 on uint8 images; it filters with OpenCV's box filter
  (``BORDER_REFLECT`` = scipy's ``reflect``) and exact integer window sums; a 1080p frame pair
  (SSIM + PSNR + cosine) costs about 16.5 ms of CPU with the compiled kernels of
  :mod:`.image_kernels` (numba), 0.12 s with the numpy path they are checked against.
* :func:`psnr` is ``skimage.metrics.peak_signal_noise_ratio`` (``inf`` for identical images).
* :func:`pixel_cosine` is JWB-DH's "CSIM": cosine of the flattened raw pixels (0 for a black image).
* :func:`canny_edges_rgb` is JWB-DH's E-FID input: ``Canny(gray, 100, 200)`` as a 3-channel image.
* :func:`jwbdh_ssim_win_size` is the window rule of JWB-DH's ``FID_calculate.py``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "ssim",
    "psnr",
    "mse",
    "pixel_cosine",
    "ssim_psnr_cosine",
    "canny_edges_rgb",
    "jwbdh_ssim_win_size",
    "resize_to",
]


def _as_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return a, b


def _box(img: np.ndarray, win: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(img, cv2.CV_64F, (win, win), normalize=True, borderType=cv2.BORDER_REFLECT)


def _ssim_map_mean(x: np.ndarray, y: np.ndarray, win: int, data_range: float, k1: float, k2: float) -> np.ndarray:
    """Mean SSIM per channel of float64 H×W×C images (C <= 4: OpenCV filters all channels at once)."""
    s = _ssim_map(x, y, win, data_range, k1, k2)
    pad = (win - 1) // 2
    s = s[pad : s.shape[0] - pad, pad : s.shape[1] - pad]
    return s.reshape(-1, s.shape[-1] if s.ndim == 3 else 1).mean(axis=0, dtype=np.float64)


#: output rows per strip of :func:`_ssim_strips` (32 rows of a 1080p frame: ~1.5 MB per float64 plane)
SSIM_STRIP_ROWS = 32


def _ssim_strips(a: np.ndarray, b: np.ndarray, win: int, data_range: float, k1: float, k2: float,
                 rows: int = SSIM_STRIP_ROWS) -> np.ndarray:
    """:func:`_ssim_map_mean` of integer images computed strip by strip (cache-sized float64 planes
    instead of whole-frame ones: 1.2–1.7× less CPU at 512²–1080p), with the same result bit for bit.
    Each strip carries ``(win − 1) / 2`` rows of context on each side; its SSIM rows are those of
    the whole image because the box sums of integer pixels are exact in float64 whatever rows the
    running sums start from, the per-pixel formula is the same, and the interior map is assembled
    whole before the one mean (same summation order). Tested against the whole-image path."""
    H = a.shape[0]
    pad = (win - 1) // 2
    C = a.shape[2] if a.ndim == 3 else 1
    out = np.empty((H - 2 * pad, a.shape[1] - 2 * pad, C), dtype=np.float64)
    for r0 in range(pad, H - pad, rows):
        r1 = min(r0 + rows, H - pad)
        s0, s1 = max(0, r0 - pad), min(H, r1 + pad)
        m = _ssim_map(a[s0:s1].astype(np.float64), b[s0:s1].astype(np.float64), win, data_range, k1, k2)
        out[r0 - pad : r1 - pad] = m[r0 - s0 : r1 - s0, pad : m.shape[1] - pad].reshape(r1 - r0, -1, C)
    return out.reshape(-1, C).mean(axis=0, dtype=np.float64)


#: elements (row length × rows) of one block of the float64 formula in :func:`_ssim_u8`, and of
#: one strip of its integer window sums: the float64 work stays in the core's L1/L2 cache
SSIM_U8_BLOCK = 12_000
SSIM_U8_STRIP = 370_000


def _ssim_u8(a: np.ndarray, b: np.ndarray, win: int, data_range: float, k1: float, k2: float,
             strip: int = SSIM_U8_STRIP, block: int = SSIM_U8_BLOCK) -> np.ndarray:
    """:func:`_ssim_map_mean` of uint8 images (H×W or H×W×C, C <= 4), the same result bit for bit
    at ~0.7× the CPU of :func:`_ssim_strips` (1080p: ~120 ms instead of ~170 ms).

    The window sums of x, y, x², y², xy over the interior are computed exactly in int32 (OpenCV box
    filter of the uint8 image and of its uint16 products; at most win²·255² < 2³¹), strip by strip.
    OpenCV's normalised float64 box filter yields exactly ``sum · (1 / win²)`` for integer pixels
    (its running sums are exact integers in float64, scaled once), so each interior mean is that
    product here too; the per-pixel formula then runs with the operations of :func:`_ssim_map`, in
    the same order, on blocks of a few rows kept in cache, written into the interior map, which is
    averaged whole as before (same summation order). Tested against the whole-image path."""
    import cv2

    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    H, W = a.shape[:2]
    C = a.shape[2] if a.ndim == 3 else 1
    pad = (win - 1) // 2
    np_ = win * win
    scale = 1.0 / np_  # OpenCV's normalisation factor (boxFilter: 1. / (ksize.width * ksize.height))
    cov_norm = np_ / (np_ - 1.0)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    Hi, L = H - 2 * pad, (W - 2 * pad) * C
    out = np.empty((Hi, L), dtype=np.float64)
    sub = max(1, block // L)  # rows per float64 block
    rows = max(sub, strip // L // sub * sub)  # rows per strip of integer window sums (a multiple of sub)
    bufs = [np.empty((sub, L), dtype=np.float64) for _ in range(6)]

    def sums(img: np.ndarray, n: int) -> np.ndarray:
        S = cv2.boxFilter(img, cv2.CV_32S, (win, win), normalize=False, borderType=cv2.BORDER_REFLECT)
        return S[pad : pad + n, pad : W - pad].reshape(n, L)

    for r0 in range(0, Hi, rows):
        n = min(rows, Hi - r0)
        xa, yb = a[r0 : r0 + n + 2 * pad], b[r0 : r0 + n + 2 * pad]  # n interior rows with their context
        SX, SY = sums(xa, n), sums(yb, n)
        SXX = sums(cv2.multiply(xa, xa, dtype=cv2.CV_16U), n)
        SYY = sums(cv2.multiply(yb, yb, dtype=cv2.CV_16U), n)
        SXY = sums(cv2.multiply(xa, yb, dtype=cv2.CV_16U), n)
        for q0 in range(0, n, sub):
            m = min(sub, n - q0)
            ux, uy, uxx, uyy, uxy, uxuy = (v[:m] for v in bufs)
            q = slice(q0, q0 + m)
            np.multiply(SX[q], scale, out=ux)
            np.multiply(SY[q], scale, out=uy)
            np.multiply(SXX[q], scale, out=uxx)
            np.multiply(SYY[q], scale, out=uyy)
            np.multiply(SXY[q], scale, out=uxy)
            # from here exactly the operations of _ssim_map
            _ssim_from_moments(ux, uy, uxx, uyy, uxy, uxuy, cov_norm, c1, c2, out=out[r0 + q0 : r0 + q0 + m])
    return _channel_means(out.reshape(Hi, -1, C))


def _rows(a: np.ndarray) -> np.ndarray:
    """An H×W(×C) image as contiguous (H, W·C) rows (no copy when it is contiguous already)."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], -1)


#: widest row (W·C values) whose int32 row sums of squares the SSIM kernel may add (≤ 255² each)
_KERNEL_ROW_MAX = (2**31 - 1) // (255 * 255)


def _ssim_u8_compiled(a: np.ndarray, b: np.ndarray, win: int, data_range: float, k1: float, k2: float,
                      squares: list[int] | None = None) -> np.ndarray:
    """:func:`_ssim_u8` of H×W×C uint8 images (2 <= C <= 4) by the compiled kernel
    (:mod:`.image_kernels`): the same per-channel means bit for bit, 1080p in ~16.5 ms instead of ~95.
    With ``squares`` (a list), the exact ``(Σ(a−b)², Σa², Σb²)`` of the same pass are put in it
    (what PSNR and the pixel cosine need: :func:`_square_sums_u8`'s values, read once)."""
    from avatar_eval.metrics.functional import image_kernels as K

    H, W, C = a.shape
    pad = (win - 1) // 2
    np_ = win * win
    sums = np.zeros(C, dtype=np.float64)
    sq = np.zeros(3, dtype=np.int64)
    K.ssim_channel_sums(_rows(a), _rows(b), win, C, 1.0 / np_, np_ / (np_ - 1.0), 2 * (np_ / (np_ - 1.0)),
                        (k1 * data_range) ** 2, (k2 * data_range) ** 2, sums, sq)
    if squares is not None:
        xx, yy, xy = (int(v) for v in sq)
        squares[:] = [xx + yy - 2 * xy, xx, yy]
    return sums / ((H - 2 * pad) * (W - 2 * pad))


def _kernel_ok(a: np.ndarray) -> bool:
    """Whether the compiled SSIM kernel takes this uint8 image: 2–4 channels, rows of at most
    :data:`_KERNEL_ROW_MAX` values, and the kernels passed their check in this process."""
    return a.ndim == 3 and a.shape[2] >= 2 and a.shape[1] * a.shape[2] <= _KERNEL_ROW_MAX and _kernels_agree()


@functools.cache
def _kernels_agree() -> bool:
    """Whether the compiled kernels are importable and give the numpy paths' values bit for bit
    (checked once per process on random uint8 images: 2–4 channels, windows 3 / 7 / 9, odd sizes,
    where a fused or reordered float operation would show). If not, the numpy paths are used."""
    try:
        return _kernels_check()
    except Exception as e:  # noqa: BLE001 - numba missing or failing to compile: the numpy paths serve
        import logging

        logging.getLogger(__name__).warning("compiled image kernels unavailable (%s: %s); using the numpy paths "
                                            "(same values, slower)", type(e).__name__, e)
        return False


def _kernels_check() -> bool:
    from avatar_eval.metrics.functional import image_kernels  # noqa: F401

    rng = np.random.default_rng(14)
    for c, win, shape in ((3, 7, (41, 37)), (3, 3, (19, 23)), (3, 5, (17, 29)), (2, 9, (23, 17)), (4, 7, (15, 26))):
        x = rng.integers(0, 256, (*shape, c), dtype=np.uint8)
        y = np.clip(x.astype(np.int16) + rng.integers(-60, 61, x.shape), 0, 255).astype(np.uint8)
        squares: list[int] = []
        if not np.array_equal(_ssim_u8_compiled(x, y, win, 255.0, 0.01, 0.03, squares),
                              _ssim_u8(x, y, win, 255.0, 0.01, 0.03)):
            return False
        want = (int(np.sum((x.astype(np.int64) - y) ** 2)), int(np.sum(x.astype(np.int64) ** 2)),
                int(np.sum(y.astype(np.int64) ** 2)))
        if _square_sums_compiled(x, y) != want or tuple(squares) != want:
            return False
    return True


def _square_sums_compiled(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """Σ(a−b)², Σa², Σb² of uint8 images in one compiled pass (exact int64)."""
    from avatar_eval.metrics.functional import image_kernels as K

    out = np.zeros(3, dtype=np.int64)
    K.square_sums(_rows(a), _rows(b), out)
    return int(out[0]), int(out[1]), int(out[2])


@functools.cache
def _cv_sum_sequential() -> bool:
    """Whether ``cv2.sumElems`` of a float64 image with 2–4 channels adds each channel's values one
    after the other (OpenCV's generic loop: no SIMD or IPP kernel for float64), i.e. in the order
    of numpy's ``mean(axis=0)`` of the (pixels, channels) array. Checked once per process on random
    values, where any other order differs; if not, the numpy reduction is used."""
    import cv2

    rng = np.random.default_rng(0)
    ok = True
    for c in (2, 3, 4):
        m = rng.random((37, 53, c)) * 1e3 - 300.0
        ok = ok and np.array_equal(np.array(cv2.sumElems(m)[:c], dtype=np.float64) / (37 * 53),
                                   m.reshape(-1, c).mean(axis=0, dtype=np.float64))
    return bool(ok)


def _channel_means(m: np.ndarray) -> np.ndarray:
    """``m.reshape(-1, C).mean(axis=0)`` of a contiguous float64 H×W×C map, bit for bit: numpy
    adds the rows of a (pixels, C) array one by one (C interleaved running sums, ~13 ns a pixel at
    C = 3); OpenCV's ``sumElems`` runs the same additions in a plain loop (~1.5 ns a pixel)."""
    C = m.shape[2]
    if 2 <= C <= 4 and m.flags.c_contiguous and _cv_sum_sequential():
        import cv2

        return np.array(cv2.sumElems(m)[:C], dtype=np.float64) / (m.shape[0] * m.shape[1])
    return m.reshape(-1, C).mean(axis=0, dtype=np.float64)


def _ssim_map(x: np.ndarray, y: np.ndarray, win: int, data_range: float, k1: float, k2: float) -> np.ndarray:
    """The SSIM map of float64 images, borders included (reflected)."""
    np_ = win * win
    cov_norm = np_ / (np_ - 1.0)  # use_sample_covariance=True (skimage default)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ux = _box(x, win)
    uy = _box(y, win)
    uxx = _box(x * x, win)
    uyy = _box(y * y, win)
    uxy = _box(x * y, win)
    uxuy = np.empty_like(ux)
    return _ssim_from_moments(ux, uy, uxx, uyy, uxy, uxuy, cov_norm, c1, c2, out=uxuy)


def _ssim_from_moments(ux: np.ndarray, uy: np.ndarray, uxx: np.ndarray, uyy: np.ndarray, uxy: np.ndarray,
                       uxuy: np.ndarray, cov_norm: float, c1: float, c2: float, out: np.ndarray) -> np.ndarray:
    """SSIM from the window means (ux, uy, E[x²], E[y²], E[xy]), in place (the inputs are
    overwritten; ``uxuy`` is scratch of their shape), in one fixed order of float64 operations:
    the strip/block paths and ``_ssim_map`` share it, so their values agree bit for bit."""
    np.multiply(ux, uy, out=uxuy)
    ux *= ux  # ux², in place from here on
    uy *= uy
    # B2 = vx + vy + C2 = cov·(uxx − ux² + uyy − uy²) + C2
    uxx -= ux
    uxx += uyy
    uxx -= uy
    uxx *= cov_norm
    uxx += c2
    # A2 = 2·cov·(uxy − ux·uy) + C2
    uxy -= uxuy
    uxy *= 2 * cov_norm
    uxy += c2
    # A1 = 2·ux·uy + C1 ; B1 = ux² + uy² + C1
    uxuy *= 2
    uxuy += c1
    ux += uy
    ux += c1
    uxuy *= uxy  # A1·A2
    ux *= uxx  # B1·B2
    np.divide(uxuy, ux, out=out)
    return out


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    *,
    data_range: float = 255.0,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean SSIM of two images (H×W or H×W×C; channels averaged), skimage's definition.

    >>> import numpy as np
    >>> x = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    >>> round(ssim(x, x), 6)
    1.0
    """
    a, b = _as_pair(a, b)
    if win_size % 2 != 1 or win_size < 3:
        raise ValueError("win_size must be odd and >= 3")
    if min(a.shape[0], a.shape[1]) < win_size:
        raise ValueError(f"image {a.shape[:2]} smaller than the SSIM window {win_size}")
    if _u8(a, b) and win_size <= 181:  # win²·255² < 2³¹: int32 window sums
        if _kernel_ok(a):
            return float(np.mean(_ssim_u8_compiled(a, b, win_size, data_range, k1, k2)))
        return float(np.mean(_ssim_u8(a, b, win_size, data_range, k1, k2)))
    if a.dtype.kind in "ui" and b.dtype == a.dtype and a.itemsize <= 2 and (a.ndim == 2 or a.shape[2] <= 4):
        return float(np.mean(_ssim_strips(a, b, win_size, data_range, k1, k2)))
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if x.ndim == 3 and x.shape[2] > 4:
        vals = [_ssim_map_mean(x[..., c], y[..., c], win_size, data_range, k1, k2)[0] for c in range(x.shape[2])]
        return float(np.mean(vals))
    return float(np.mean(_ssim_map_mean(x, y, win_size, data_range, k1, k2)))


def _u8(a: np.ndarray, b: np.ndarray) -> bool:
    """uint8 images OpenCV sums per channel at once (H×W or H×W×C, C <= 4)."""
    return a.dtype == np.uint8 and b.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] <= 4))


@functools.cache
def _cv_u16_sums_exact() -> bool:
    """Whether ``cv2.sumElems`` sums uint16 images exactly (integer blocks; checked once per
    process on 255²-sized values in 1–4 channels, against numpy's int64 sums)."""
    import cv2

    rng = np.random.default_rng(0)
    ok = True
    for c in (1, 2, 3, 4):
        m = rng.integers(60000, 65026, (301, 307, c), dtype=np.uint16)
        got = cv2.sumElems(m if c > 1 else m[..., 0])[:c]
        ok = ok and [int(v) for v in got] == [int(v) for v in m.reshape(-1, c).sum(axis=0, dtype=np.int64)]
    return bool(ok)


def _sum_u16(img: np.ndarray) -> int:
    import cv2

    if _cv_u16_sums_exact():
        return sum(int(v) for v in cv2.sumElems(img))
    return int(img.sum(dtype=np.int64))


def _square_sums_u8(a: np.ndarray, b: np.ndarray, cross: bool) -> tuple[int, int, int]:
    """Exact integer sums of uint8 images: Σ(a−b)² and, with ``cross``, Σa², Σb² (else 0, 0).

    Each square is at most 255² (uint16) and OpenCV sums uint16 channels exactly (integer blocks
    into doubles; any image under 10¹¹ pixels stays below 2⁵³), so these are the sums the float64
    formulas (``mean(d·d)``, ``dot(x, y)``, ``norm(x)``) reach as well: every partial sum of those
    is an integer below 2⁵³, hence exact whatever the summation order. Tested against them."""
    import cv2

    if _kernels_agree():
        dd, xx, yy = _square_sums_compiled(a, b)
        return (dd, xx, yy) if cross else (dd, 0, 0)
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    d = cv2.absdiff(a, b)
    dd = _sum_u16(cv2.multiply(d, d, dtype=cv2.CV_16U))
    if not cross:
        return dd, 0, 0
    return dd, _sum_u16(cv2.multiply(a, a, dtype=cv2.CV_16U)), _sum_u16(cv2.multiply(b, b, dtype=cv2.CV_16U))


def _psnr_from_mse(m: float, data_range: float) -> float:
    if m == 0.0:
        return float("inf")
    return float(10.0 * np.log10((data_range**2) / m))


def _cosine_from_sums(dd: int, xx: int, yy: int) -> float:
    if xx == 0 or yy == 0:
        return 0.0
    # Σxy = (Σx² + Σy² − Σ(x−y)²) / 2, exact in integers; the same float64 ops as dot / (norm·norm)
    return float(((xx + yy - dd) // 2) / (np.sqrt(np.float64(xx)) * np.sqrt(np.float64(yy))))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _as_pair(a, b)
    if a.size and _u8(a, b):
        return _square_sums_u8(a, b, False)[0] / a.size  # = mean(d·d) bit for bit (exact sum, one division)
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """PSNR in dB; ``inf`` for identical images (as scikit-image)."""
    return _psnr_from_mse(mse(a, b), data_range)


def pixel_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the flattened pixels (float64); 0 when either image is all zero."""
    a, b = _as_pair(a, b)
    if a.size and _u8(a, b):
        return _cosine_from_sums(*_square_sums_u8(a, b, True))
    x = a.reshape(-1).astype(np.float64)
    y = b.reshape(-1).astype(np.float64)
    na = np.linalg.norm(x)
    nb = np.linalg.norm(y)
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(x, y) / (na * nb))


def ssim_psnr_cosine(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> tuple[float, float, float]:
    """``(ssim(a, b), psnr(a, b), pixel_cosine(a, b))`` with the same values, sharing the squared
    sums of PSNR and cosine on uint8 images (what the JWB-DH pair passes compute per frame pair)."""
    a, b = _as_pair(a, b)
    if _u8(a, b) and min(a.shape[0], a.shape[1]) >= 7 and _kernel_ok(a):  # one compiled pass for all three
        squares: list[int] = []
        s = float(np.mean(_ssim_u8_compiled(a, b, 7, data_range, 0.01, 0.03, squares)))
        dd, xx, yy = squares
        return s, _psnr_from_mse(dd / a.size, data_range), _cosine_from_sums(dd, xx, yy)
    s = ssim(a, b, data_range=data_range)
    if a.size and _u8(a, b):
        dd, xx, yy = _square_sums_u8(a, b, True)
        return s, _psnr_from_mse(dd / a.size, data_range), _cosine_from_sums(dd, xx, yy)
    return s, psnr(a, b, data_range=data_range), pixel_cosine(a, b)


def canny_edges_rgb(rgb: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    """Canny edge map of an RGB uint8 image as an H×W×3 uint8 image (JWB-DH's E-FID input).

    JWB-DH converts its BGR frames with ``COLOR_BGR2GRAY``; on our RGB frames that is
    ``COLOR_RGB2GRAY`` (same weights per colour), so the edge maps are identical.
    """
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, low, high)
    return cv2.cvtColor(edges, cv2.COLOR_GRAY2RGB)


def jwbdh_ssim_win_size(h: int, w: int) -> int:
    """JWB-DH's window: the largest odd number <= min(H, W), clipped to [3, 7]."""
    m = min(h, w)
    win = m if m % 2 == 1 else m - 1
    return max(min(win, 7), 3)


def resize_to(img: np.ndarray, width: int, height: int, interpolation: str = "auto") -> np.ndarray:
    """Resize with OpenCV; ``auto`` = INTER_AREA when shrinking, INTER_LINEAR otherwise."""
    import cv2

    if img.shape[1] == width and img.shape[0] == height:
        return img
    if interpolation == "auto":
        interp = cv2.INTER_AREA if (width < img.shape[1] and height < img.shape[0]) else cv2.INTER_LINEAR
    else:
        interp = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
                  "nearest": cv2.INTER_NEAREST}[interpolation]
    return cv2.resize(img, (int(width), int(height)), interpolation=interp)
