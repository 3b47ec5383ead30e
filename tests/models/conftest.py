from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No test may download: offline, and an empty cache/weights dir."""
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AVATAR_EVAL_WEIGHTS_DIR", raising=False)
    yield


def shared(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"shared test media missing: {p}")
    return p


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p"
        s.options = {"qscale": "1"}
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


class _Media:
    shared = staticmethod(shared)
    write_video = staticmethod(write_video)


@pytest.fixture
def media():
    return _Media()
