"""Known answers of FID / FVD / LPIPS with the real networks on real clips of ../shared: one
talking head (talking_head/sadtalker_WDA_KatieHill_000.mp4, 512²) and one whole body
(whole_body/seated_woman_speaking.mp4, 1080×1920 HEVC, hands visible).

Variants are built here from the decoded GT frames: Gaussian blur σ 1 / 3, JPEG quality 30 / 5,
frame shuffling (random order within blocks of 4 / 16 frames), frame shift (frame t shows GT frame
t + 2 / t + 8). GT vs itself gives 0 for all three; each variant's metric must rise with strength:

* FVD (I3D Kinetics-400, StyleGAN-V input: 16 frames, 224², [−1, 1]): one 16-frame window per
  clip, so 2 samples per side — the exact Fréchet of those samples (biased, warned), enough to
  order the variants: every step is ≥ 1.5× the previous one in the measurement below;
* LPIPS (v0.1 alex) per aligned frame pair, per clip;
* FID (TF Inception pool3) for blur and JPEG. FID compares the *distributions of single frames*, so
  it is blind to frame order by construction: shuffled frames are the same set (FID = 0 exactly
  when all frames are used), and a shift of k frames changes only the k frames at the ends. On a
  subset (every 6th frame) both give a small FID that does not grow with strength (measured with
  every 4th of 48 frames: shuffle 4 / 16 → 6.7 / 5.7, shift 2 / 8 → 8.3 / 5.1, vs blur σ 1 → 49).
  That is the true answer and what is asserted: no ordering for shuffle/shift, and values far
  below those of visible degradation.

Cheap on purpose (CI: 2 cores): frames reduced to 256 px on the short side (FID and FVD resize to
299² / 224² anyway, so the input size changes the value a little, not the ordering), 24 frames per
clip, 8 frames per clip for FID, 18 I3D forwards. Measured here (AMD EPYC, 2 shared cores, two clips
pooled; LPIPS talking head / whole body):

| variant | FID | FVD | LPIPS |
|---|---|---|---|
| GT | 0 | 0 | 0 / 0 |
| blur σ 1 / 3 | 49.4 / 143.8 | 78.7 / 691 | 0.129 / 0.454; 0.159 / 0.583 |
| JPEG q 30 / 5 | 60.2 / 244.7 | 73.2 / 1530 | 0.043 / 0.319; 0.094 / 0.458 |
| shuffle 4 / 16 | (6.7 / 5.7) | 122 / 291 | 0.040 / 0.117; 0.006 / 0.020 |
| shift 2 / 8 | (8.3 / 5.1) | 49.7 / 155 | 0.053 / 0.158; 0.009 / 0.028 |

(the table's FID/FVD: 24 frames and 4 windows per side; the test's smaller sample gives other
values, same order.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from realweights_data import blur, jpeg, payload

CLIPS = {"talking_head": "talking_head/sadtalker_WDA_KatieHill_000.mp4",
         "whole_body": "whole_body/seated_woman_speaking.mp4"}
N = 32  # decoded frames per clip: 24 used, + 8 for the shift by 8
WINDOW = (4, 20)  # the FVD window (16 frames)
FID_IDX = list(range(0, 24, 3))  # 8 frames per clip for FID and LPIPS


def _load(path, short=256):
    import cv2

    from avatar_eval.io.video import iter_frames

    out = []
    for f in iter_frames(str(path)):
        if f.index >= N:
            break
        h, w = f.rgb.shape[:2]
        s = short / min(h, w)
        out.append(cv2.resize(f.rgb, (round(w * s) // 2 * 2, round(h * s) // 2 * 2), interpolation=cv2.INTER_AREA))
    assert len(out) == N
    return out


def _shuffle(fr, block, seed=0):
    rng = np.random.default_rng(seed)
    out = list(fr)
    for i in range(0, len(out), block):
        idx = rng.permutation(len(out[i:i + block]))
        out[i:i + block] = [fr[i + j] for j in idx]
    return out


def _variants(fr):
    base = fr[:24]
    return {"gt": base, "blur1": blur(base, 1), "blur3": blur(base, 3), "jpeg30": jpeg(base, 30),
            "jpeg5": jpeg(base, 5), "shuffle4": _shuffle(base, 4), "shuffle16": _shuffle(base, 16),
            "shift2": fr[2:26], "shift8": fr[8:32]}


@pytest.fixture(scope="module")
def measured(shared_data):
    import torch

    from avatar_eval.metrics.jwbdh import tf_inception_features
    from avatar_eval.metrics.lpips import lpips_frames
    from avatar_eval.models.i3d import build_i3d_kinetics400, prepare_fvd_clip
    from avatar_eval.models.inception import build_tf_fid_inception
    from avatar_eval.models.lpips import build_lpips

    inc = build_tf_fid_inception(payload("fid_inception_tf"))
    i3d = build_i3d_kinetics400(payload("i3d_kinetics400_jax"))
    lp = build_lpips("alex", payload("lpips_alex"))
    out: dict[str, dict[str, list]] = {}
    for _name, rel in CLIPS.items():
        p = shared_data / rel
        if not p.is_file():
            pytest.skip(f"{p} is absent")
        vs = _variants(_load(p))
        for vn, vf in vs.items():
            r = out.setdefault(vn, {"fid": [], "fvd": [], "lpips": []})
            if not vn.startswith(("shuffle", "shift")):
                r["fid"].append(tf_inception_features(inc, [vf[i] for i in FID_IDX]))
            with torch.no_grad():
                r["fvd"].append(i3d(prepare_fvd_clip(np.stack(vf[WINDOW[0]:WINDOW[1]]), value_range="pm1")).double().numpy())
            r["lpips"].append(float(np.mean(lpips_frames(lp, [vf[i] for i in FID_IDX], [vs["gt"][i] for i in FID_IDX]))))
    return out


def _frechet(a, b):
    from avatar_eval.metrics.functional.frechet import frechet_from_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return frechet_from_features(np.concatenate(a), np.concatenate(b))


def test_gt_vs_itself_is_zero(measured):
    g = measured["gt"]
    assert abs(_frechet(g["fid"], g["fid"])) < 1e-6
    assert abs(_frechet(g["fvd"], g["fvd"])) < 1e-6
    assert g["lpips"] == [0.0, 0.0]


@pytest.mark.parametrize("kind", ["blur", "jpeg", "shuffle", "shift"])
def test_fvd_and_lpips_rise_with_strength(measured, kind):
    weak, strong = {"blur": ("blur1", "blur3"), "jpeg": ("jpeg30", "jpeg5"),
                    "shuffle": ("shuffle4", "shuffle16"), "shift": ("shift2", "shift8")}[kind]
    g = measured["gt"]["fvd"]
    f = [_frechet(g, measured[v]["fvd"]) for v in (weak, strong)]
    assert 1.0 < f[0] < f[1], (kind, f)
    for clip in range(len(CLIPS)):  # each clip on its own: talking head and whole body
        lp = [measured[v]["lpips"][clip] for v in (weak, strong)]
        assert 0.0 < lp[0] < lp[1], (kind, list(CLIPS)[clip], lp)


@pytest.mark.parametrize("kind", ["blur", "jpeg"])
def test_fid_rises_with_blur_and_jpeg(measured, kind):
    weak, strong = {"blur": ("blur1", "blur3"), "jpeg": ("jpeg30", "jpeg5")}[kind]
    g = measured["gt"]["fid"]
    f = [_frechet(g, measured[v]["fid"]) for v in (weak, strong)]
    assert 5.0 < f[0] < f[1], (kind, f)


def test_fid_is_blind_to_frame_order(measured):
    """Shuffling the frames of a clip leaves its frame set, hence FID, unchanged: per-frame features
    in another order give exactly the GT's statistics (the network runs per frame; checked on the
    features themselves, since FID never sees the order)."""
    g = np.concatenate(measured["gt"]["fid"])
    perm = np.random.default_rng(1).permutation(len(g))
    assert abs(_frechet([g], [g[perm]])) < 1e-6
