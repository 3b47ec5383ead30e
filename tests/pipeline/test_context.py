import numpy as np

from avatar_eval.metrics.registry import get_metric, resolve_metrics
from avatar_eval.pipeline.context import ClipContext


def test_one_decode_feeds_every_landmark_metric(clips):
    ctx = ClipContext(str(clips / "gt" / "may.mp4"))
    names = resolve_metrics(["theval-landmarks", "theval-landmarks-compat"])
    ms = [get_metric(n) for n in names]
    ctx.prepare([a for m in ms for a in m.requires])
    for m in ms:
        m.compute(ctx)
    assert ctx.decode_count == 1
    assert ctx.frames_decoded == ctx.info.n_frames
    # four Face Mesh configurations, each computed once from the same pass; the compat eyebrow
    # track is the paper track's run (its tracker rows, without the still-frame hold)
    tracks = [k for k in ctx._cache if k.startswith("face_mesh") and k not in ctx.shared_artifacts]
    assert len(tracks) == 4
    assert ctx.shared_artifacts == {"face_mesh.theval_full": "face_mesh"}


def test_frame_artifacts_are_compact(clips):
    ctx = ClipContext(str(clips / "gt" / "grid_bbaf2n.mpg"))
    t = ctx.get("face_mesh")
    assert t.landmarks.dtype == np.float32 and t.landmarks.shape[1:] == (478, 3)
    assert t.n_present == t.n_frames  # a frontal face in every GRID frame
