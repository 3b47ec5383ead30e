"""CPBD (Narvekar & Karam 2011): hand-computed edge widths on synthetic edges of known blur, the
reference ``cpbd`` package where installed, and monotonic blur on a real frame."""

import importlib.util
import sys

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from avatar_eval.metrics.functional import sharpness as SH


def _profile(w: int, hi: float = 200.0, n: int = 128, a: int = 20, b: int = 80) -> np.ndarray:
    """Rising edge at a and falling edge at b, each a smoothstep over exactly w pixels."""
    x = np.arange(n, dtype=float)
    s = lambda t: 3 * t**2 - 2 * t**3
    return np.round(hi * (s(np.clip((x - a) / w, 0, 1)) - s(np.clip((x - b) / w, 0, 1))))


@pytest.mark.parametrize("w", [2, 4, 6, 8])
def test_edge_width_is_the_ramp_length(w):
    # profile flat 0 until x=a, strictly monotone over w px, flat after: the local extrema on
    # either side of the edge pixel are w apart (Marziliano width), for rising and falling edges
    img = np.tile(_profile(w), (128, 1))
    widths = SH.edge_widths(img, SH.sobel_vertical_edges(img))
    assert np.unique(widths[widths > 0]).tolist() == [w]
    assert np.nonzero(widths[5])[0].tolist() == [20 + w // 2, 80 + w // 2]  # the ramp centres


@pytest.mark.parametrize("w,hi,expected", [
    # contrast 200 > 50: w_JNB = 3; P_blur(2) = 1 − exp(−(2/3)^3.6) = 0.21 ≤ 0.63 → all sharp
    (2, 200.0, 1.0),
    # P_blur(4) = 1 − exp(−(4/3)^3.6) = 0.94 > 0.63 → none sharp
    (4, 200.0, 0.0),
    # contrast 40 ≤ 50: w_JNB = 5; P_blur(4) = 1 − exp(−0.8^3.6) = 0.36 → sharp
    (4, 40.0, 1.0),
    # P_blur(6) = 1 − exp(−1.2^3.6) = 0.85 → blurred
    (6, 40.0, 0.0),
])
def test_cpbd_on_known_edges(w, hi, expected):
    assert 1 - np.exp(-(2 / 3) ** 3.6) == pytest.approx(0.2073, abs=1e-4)
    img = np.tile(_profile(w, hi), (128, 1))
    assert SH.cpbd(img) == expected
    total, _ = SH.cpbd_blocks(img)
    assert total.shape == (2, 2) and total.sum() == 2 * 126  # one width per interior row (1..126) per edge


def test_blocks_in_box_and_no_edges():
    m = SH.blocks_in_box((4, 4), np.array([32, 0, 160, 64]))
    assert m.astype(int).tolist() == [[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert np.isnan(SH.cpbd(np.full((128, 128), 7.0)))  # a flat image has no edge block


def test_luma_is_pil_L(clips):
    from PIL import Image

    from avatar_eval.io.video import iter_frames

    rgb = next(iter_frames(clips / "gt" / "may.mp4")).rgb
    assert np.array_equal(SH.luma(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def _real_gray(clips, index=0):
    from avatar_eval.io.video import iter_frames

    rgb = next(f.rgb for f in iter_frames(clips / "gt" / "may.mp4") if f.index == index)
    return SH.luma(rgb)


def test_blur_lowers_cpbd_monotonically_on_a_real_frame(clips):
    g = _real_gray(clips)
    vals = [SH.cpbd(g if s == 0 else np.round(gaussian_filter(g.astype(float), s)))
            for s in (0, 0.5, 1.0, 1.5, 2.0, 3.0)]
    assert all(a > b for a, b in zip(vals, vals[1:])), vals


def _reference_cpbd():
    """The ``cpbd`` PyPI package (1.0.7), made importable on current SciPy / scikit-image: it
    imports ``scipy.ndimage.imread`` (removed in SciPy 1.2; used only by its command line)."""
    if importlib.util.find_spec("cpbd") is None:
        pytest.skip("reference package `cpbd` not installed (pip download cpbd; put it on PYTHONPATH)")
    import scipy.ndimage

    if not hasattr(scipy.ndimage, "imread"):
        scipy.ndimage.imread = None  # the patch: the name only has to exist
    import skimage.filters.edges as E

    if not hasattr(E, "HSOBEL_WEIGHTS"):
        E.HSOBEL_WEIGHTS = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]) / 4.0
    sys.modules.pop("cpbd.compute", None)
    from cpbd.compute import compute

    return compute


def test_matches_reference_package_on_real_images(clips):
    ref = _reference_cpbd()
    for idx in (0, 60):
        g = _real_gray(clips, idx)[100:356, 128:384]  # the reference loops in Python: a 256² crop
        for s in (0, 1, 2):
            img = g if s == 0 else np.round(gaussian_filter(g.astype(float), s)).astype(np.uint8)
            assert SH.cpbd(img) == pytest.approx(ref(img), abs=1e-12)
    img = np.tile(_profile(4, 40.0), (128, 1))
    assert SH.cpbd(img) == pytest.approx(ref(img), abs=1e-12)
