"""The strip-wise SSIM (speed, issue 14) gives the whole-image value bit for bit on integer images:
real frames, odd sizes, images shorter than a strip, gray and RGB, other windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_eval.io.video import iter_frames
from avatar_eval.metrics.functional import image as IM


def _whole(a: np.ndarray, b: np.ndarray, win: int = 7) -> float:
    return float(np.mean(IM._ssim_map_mean(a.astype(np.float64), b.astype(np.float64), win, 255.0, 0.01, 0.03)))


def test_real_frames(clips: Path) -> None:
    frames = []
    for f in iter_frames(clips / "gt" / "may.mp4"):
        frames.append(f.rgb)
        if len(frames) == 3:
            break
    for a, b in zip(frames, frames[1:]):
        assert IM.ssim(a, b) == _whole(a, b)
        assert IM.ssim(a[::2, ::3], b[::2, ::3]) == _whole(a[::2, ::3], b[::2, ::3])  # non-contiguous views


@pytest.mark.parametrize("shape", [(7, 9, 3), (33, 40, 3), (70, 51), (100, 64, 4), (64, 31, 3)])
@pytest.mark.parametrize("win", [3, 7, 11])
def test_shapes(shape: tuple[int, ...], win: int) -> None:
    if min(shape[:2]) < win:
        pytest.skip("image smaller than the window")
    rng = np.random.default_rng(sum(shape) + win)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    for rows in (1, 5, IM.SSIM_STRIP_ROWS):
        got = float(np.mean(IM._ssim_strips(a, b, win, 255.0, 0.01, 0.03, rows=rows)))
        assert got == _whole(a, b, win), rows
    assert IM.ssim(a, b, win_size=win) == _whole(a, b, win)


@pytest.mark.parametrize("shape", [(7, 9, 3), (33, 40, 3), (70, 51), (100, 64, 4), (64, 31, 1), (64, 31, 3)])
@pytest.mark.parametrize("win", [3, 7, 11])
def test_u8_blocks(shape: tuple[int, ...], win: int) -> None:
    """The uint8 path (integer window sums, cache-sized float64 blocks) gives the whole-image value
    bit for bit, whatever the strip and block sizes (partial last strips and blocks included)."""
    if min(shape[:2]) < win:
        pytest.skip("image smaller than the window")
    rng = np.random.default_rng(sum(shape) * 7 + win)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    ref = IM._ssim_map_mean(a.astype(np.float64), b.astype(np.float64), win, 255.0, 0.01, 0.03)
    for strip, block in ((1, 1), (200, 90), (1000, 300), (IM.SSIM_U8_STRIP, IM.SSIM_U8_BLOCK)):
        got = IM._ssim_u8(a, b, win, 255.0, 0.01, 0.03, strip=strip, block=block)
        assert np.array_equal(got, ref), (strip, block)
    for x, y in ((a, a), (np.zeros_like(a), np.full_like(a, 255)), (np.full_like(a, 255), np.full_like(a, 255))):
        assert IM.ssim(x, y, win_size=win) == _whole(x, y, win)


def _psnr_f64(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    m = float(np.mean(d * d))
    return float("inf") if m == 0.0 else float(10.0 * np.log10(255.0**2 / m))


def _cosine_f64(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    na, nb = np.linalg.norm(x), np.linalg.norm(y)
    return 0.0 if na == 0 or nb == 0 else float(np.dot(x, y) / (na * nb))


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 9), (64, 31, 4), (1080, 1920, 3), (2160, 3840, 3)])
def test_psnr_cosine_exact_sums(shape: tuple[int, ...]) -> None:
    """PSNR and pixel cosine of uint8 images from exact integer sums: the float64 formulas' values
    bit for bit (random pixels, black / white extremes, identical images)."""
    rng = np.random.default_rng(len(shape) + shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 256, shape, dtype=np.uint8)
    zero, full = np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)
    for x, y in ((a, b), (a, a), (zero, full), (full, zero), (full, full), (zero, zero), (a, zero)):
        assert IM.psnr(x, y) == _psnr_f64(x, y)
        assert IM.pixel_cosine(x, y) == _cosine_f64(x, y)
        if min(shape[:2]) >= 7 and shape[0] < 2000:
            s, p, c = IM.ssim_psnr_cosine(x, y)
            assert (s, p, c) == (IM.ssim(x, y), _psnr_f64(x, y), _cosine_f64(x, y))


@pytest.mark.parametrize("shape", [(1, 1), (7, 9), (218, 218), (1074, 1914)])
@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_channel_means_order(shape: tuple[int, int], c: int) -> None:
    """The per-channel means of the SSIM map are numpy's ``mean(axis=0)`` bit for bit (random
    values of mixed magnitude and sign, where another summation order would differ)."""
    rng = np.random.default_rng(c * 1000 + shape[0])
    m = rng.random((*shape, c)) * rng.choice([1e-3, 1.0, 1e5], size=(*shape, c)) - 0.3
    assert np.array_equal(IM._channel_means(m), m.reshape(-1, c).mean(axis=0, dtype=np.float64))
