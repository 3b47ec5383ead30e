"""The compiled SSIM / PSNR / cosine kernels (issue 14 speed) give the numpy paths' values bit for
bit: random and real frames, odd sizes, 2–4 channels, windows 3–11, extremes (black / white /
identical), non-contiguous views; and ``ssim`` falls back to the numpy path without them."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.io.video import iter_frames
from avatar_eval.metrics.functional import image as IM

pytest.importorskip("numba", reason="numba absent: the numpy paths are the only ones")


def _exact_squares(x: np.ndarray, y: np.ndarray) -> tuple[int, int, int]:
    return (int(np.sum((x.astype(np.int64) - y) ** 2)), int(np.sum(x.astype(np.int64) ** 2)),
            int(np.sum(y.astype(np.int64) ** 2)))


def _numpy_ssim(a: np.ndarray, b: np.ndarray, win: int) -> np.ndarray:
    return IM._ssim_u8(a, b, win, 255.0, 0.01, 0.03)


def test_kernels_pass_their_self_check() -> None:
    assert IM._kernels_agree()


SHAPES = [(7, 9, 3), (33, 40, 3), (70, 51, 2), (100, 64, 4), (64, 31, 3), (13, 200, 3)]


@pytest.mark.parametrize(("shape", "win"), [(s, w) for s in SHAPES for w in (3, 5, 7, 9, 11) if min(s[:2]) >= w])
def test_ssim_kernel_equals_numpy_path(shape: tuple[int, ...], win: int) -> None:
    rng = np.random.default_rng(sum(shape) * 11 + win)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    zero, full = np.zeros_like(a), np.full_like(a, 255)
    for x, y in ((a, b), (b, a), (a, a), (zero, full), (full, full), (zero, zero), (a, zero)):
        squares: list[int] = []
        got = IM._ssim_u8_compiled(x, y, win, 255.0, 0.01, 0.03, squares)
        want = _numpy_ssim(x, y, win)
        assert np.array_equal(got, want, equal_nan=True), (x is y, got - want)
        assert tuple(squares) == _exact_squares(x, y)


def test_ssim_kernel_detects_a_change() -> None:
    """The comparison above can fail: one pixel changed moves the kernel's value."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    b = a.copy()
    b[20, 20, 1] ^= 1
    assert not np.array_equal(IM._ssim_u8_compiled(a, b, 7, 255.0, 0.01, 0.03), _numpy_ssim(a, a, 7))


def test_real_frames_and_views(clips: Path) -> None:
    frames = [f.rgb for f in itertools.islice(iter_frames(clips / "gt" / "may.mp4"), 3)]
    for a, b in zip(frames, frames[1:]):
        for x, y in ((a, b), (a[::2, ::3], b[::2, ::3]), (a[5:-9, 3:-1], b[5:-9, 3:-1])):
            assert np.array_equal(IM._ssim_u8_compiled(x, y, 7, 255.0, 0.01, 0.03), _numpy_ssim(x, y, 7))
            assert IM._square_sums_compiled(x, y) == (
                int(np.sum((x.astype(np.int64) - y) ** 2)), int(np.sum(x.astype(np.int64) ** 2)),
                int(np.sum(y.astype(np.int64) ** 2)))


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 9), (64, 31, 4), (3, 20000, 3), (1080, 1920, 3)])
def test_square_sums_exact(shape: tuple[int, ...]) -> None:
    """Exact integer sums, rows wider than the kernel's int32 runs (60 000 values) included."""
    rng = np.random.default_rng(shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 256, shape, dtype=np.uint8)
    full = np.full(shape, 255, np.uint8)
    for x, y in ((a, b), (full, np.zeros_like(full)), (full, full)):
        want = (int(np.sum((x.astype(np.int64) - y) ** 2)), int(np.sum(x.astype(np.int64) ** 2)),
                int(np.sum(y.astype(np.int64) ** 2)))
        assert IM._square_sums_compiled(x, y) == want


def test_public_functions_same_with_and_without_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-25, 26, a.shape), 0, 255).astype(np.uint8)
    fast = (IM.ssim(a, b), IM.ssim_psnr_cosine(a, b), IM.psnr(a, b), IM.pixel_cosine(a, b))
    monkeypatch.setattr(IM, "_kernels_agree", functools.cache(lambda: False))
    slow = (IM.ssim(a, b), IM.ssim_psnr_cosine(a, b), IM.psnr(a, b), IM.pixel_cosine(a, b))
    assert fast == slow


def test_rows_too_wide_for_the_kernel_take_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of more than 33 025 values (int32 row sums of 255² could overflow) are not given to the
    SSIM kernel; the values are the numpy path's either way."""
    rng = np.random.default_rng(9)
    a = rng.integers(0, 256, (9, 11100, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (9, 11100, 3), dtype=np.uint8)
    assert not IM._kernel_ok(a) and IM._kernel_ok(a[:, :11000])
    fast = IM.ssim_psnr_cosine(a, b)
    monkeypatch.setattr(IM, "_kernels_agree", functools.cache(lambda: False))
    assert fast == IM.ssim_psnr_cosine(a, b)


def test_a_failing_kernel_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """numba present but failing (e.g. no compiler back end): one warning, the numpy paths' values."""
    monkeypatch.setattr(IM, "_kernels_agree", functools.cache(IM._kernels_agree.__wrapped__))

    def broken() -> bool:
        raise RuntimeError("LLVM said no")

    monkeypatch.setattr(IM, "_kernels_check", broken)
    rng = np.random.default_rng(8)
    a = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    with caplog.at_level("WARNING"):
        v = IM.ssim(a, a[::-1].copy())
    assert "LLVM said no" in caplog.text and "numpy paths" in caplog.text
    assert v == float(np.mean(IM._ssim_u8(a, a[::-1].copy(), 7, 255.0, 0.01, 0.03)))
