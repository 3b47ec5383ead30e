"""Per-image formulas against scikit-image / scipy / OpenCV (independent references)."""

import numpy as np
import pytest
from scipy.spatial.distance import cosine as scipy_cosine
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from avatar_eval.metrics.functional import image as IM


def _pair(rng, shape, noise=30):
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("shape", [(64, 80, 3), (33, 47, 3), (50, 50), (7, 9, 3), (120, 90, 3)])
@pytest.mark.parametrize("win", [7, 3, 5])
def test_ssim_matches_skimage(shape, win):
    rng = np.random.default_rng(hash((shape, win)) % 2**32)
    a, b = _pair(rng, shape)
    if min(shape[:2]) < win:
        pytest.skip("window larger than image")
    ref = structural_similarity(a, b, data_range=255, win_size=win, channel_axis=-1 if len(shape) == 3 else None)
    assert IM.ssim(a, b, win_size=win) == pytest.approx(ref, abs=1e-6)


def test_ssim_smooth_image_and_identity():
    y, x = np.mgrid[0:60, 0:70]
    a = np.stack([(x * 3) % 256, (y * 2) % 256, (x + y) % 256], -1).astype(np.uint8)
    b = np.roll(a, 2, axis=1)
    ref = structural_similarity(a, b, data_range=255, win_size=7, channel_axis=-1)
    assert IM.ssim(a, b) == pytest.approx(ref, abs=1e-6)
    assert IM.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert IM.ssim(a, b) == pytest.approx(IM.ssim(b, a), abs=1e-12)  # symmetric


def test_ssim_rejects_bad_input():
    a = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError):
        IM.ssim(a, np.zeros((10, 11, 3), np.uint8))
    with pytest.raises(ValueError):
        IM.ssim(a, a, win_size=4)
    with pytest.raises(ValueError):
        IM.ssim(np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5, 3), np.uint8), win_size=7)


@pytest.mark.parametrize("seed", range(4))
def test_psnr_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    a, b = _pair(rng, (40, 52, 3), noise=5 + 20 * seed)
    assert IM.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-6)


def test_psnr_identical_is_inf():
    a = np.full((8, 8, 3), 7, np.uint8)
    assert IM.psnr(a, a) == float("inf")


@pytest.mark.parametrize("seed", range(3))
def test_pixel_cosine_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a, b = _pair(rng, (20, 30, 3))
    ref = 1.0 - scipy_cosine(a.reshape(-1).astype(float), b.reshape(-1).astype(float))
    assert IM.pixel_cosine(a, b) == pytest.approx(ref, abs=1e-12)


def test_pixel_cosine_black_is_zero():
    a = np.zeros((4, 4, 3), np.uint8)
    assert IM.pixel_cosine(a, np.ones_like(a)) == 0.0


def test_canny_edges_equal_public_code_on_bgr():
    """JWB-DH: Canny(cvtColor(BGR frame, BGR2GRAY)); ours on RGB frames must give the same map."""
    import cv2

    rng = np.random.default_rng(1)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), (5, 5), 0)
    bgr = rgb[:, :, ::-1].copy()
    ref = cv2.cvtColor(cv2.Canny(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 100, 200), cv2.COLOR_GRAY2RGB)
    out = IM.canny_edges_rgb(rgb)
    assert out.shape == (64, 64, 3) and np.array_equal(out, ref)
    assert set(np.unique(out)) <= {0, 255}


@pytest.mark.parametrize("hw,win", [((100, 100), 7), ((6, 100), 5), ((5, 5), 5), ((4, 9), 3), ((2, 2), 3), ((8, 8), 7)])
def test_jwbdh_window_rule(hw, win):
    assert IM.jwbdh_ssim_win_size(*hw) == win
