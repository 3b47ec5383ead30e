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
