"""Optional comparison with the reference implementations' numbers (GPU + weights + reference code).

Runs only where a GPU exists, the weights resolve and the reference package imports (VBench for
subject/background consistency, syncnet_python's SyncNetInstance for LSE). Skipped with the reason
otherwise. Set AVATAR_EVAL_REFERENCE_CLIP to the clip to compare on.
"""

import os

import pytest

pytestmark = pytest.mark.gpu


def _need(name):
    try:
        import torch

        if not torch.cuda.is_available():
            pytest.skip("no GPU")
    except Exception as e:  # pragma: no cover
        pytest.skip(f"torch: {e}")
    from avatar_eval.errors import WeightsUnavailable
    from avatar_eval.models.common import weight_path

    try:
        return weight_path(name)
    except WeightsUnavailable as e:
        pytest.skip(f"weights {name} unavailable: {str(e).splitlines()[0]}")


def _clip():
    c = os.environ.get("AVATAR_EVAL_REFERENCE_CLIP")
    if not c or not os.path.exists(c):
        pytest.skip("set AVATAR_EVAL_REFERENCE_CLIP to a clip for the reference comparison")
    return c


def test_subject_consistency_matches_vbench(monkeypatch):
    _need("dino_vitb16")
    clip = _clip()
    vb = pytest.importorskip("vbench.subject_consistency", reason="VBench is not installed")
    import torch

    from avatar_eval.metrics.registry import get_metric
    from avatar_eval.pipeline.context import ClipContext

    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "0")
    ctx = ClipContext(clip, options={"device": "cuda"})
    ours = get_metric("vbench.subject_consistency").compute(ctx).value
    model = torch.hub.load("facebookresearch/dino:main", "dino_vitb16").cuda()
    ref, _ = vb.subject_consistency(model, [clip], "cuda", False)
    assert ours == pytest.approx(ref, abs=2e-4)


def test_syncnet_matches_syncnet_python(monkeypatch):
    _need("syncnet_v2")
    _need("s3fd")
    _clip()
    pytest.importorskip("SyncNetInstance", reason="syncnet_python is not on the path")
    pytest.skip("run syncnet_python's run_pipeline.py + run_syncnet.py on the clip and compare per-track "
                "LSE-D/LSE-C within 0.05 (its crops go through XVID/JPEG, ours do not)")
