"""Memory work never changes a number (issue 14): the decode pass hands the C heap's free pages back
(pipeline/heap.py) every TRIM_EVERY frames and after the pass, and the tracks are those of a pass
that does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatar_eval.pipeline import context as C
from avatar_eval.pipeline import heap
from avatar_eval.pipeline.context import ClipContext


def test_trim_heap_is_a_bool_and_can_be_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(heap.trim_heap(), bool)
    monkeypatch.setattr(heap, "ENABLED", False)
    assert heap.trim_heap() is False


def test_pass_trims_and_tracks_identical(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = str(clips / "gt" / "face5.mp4")
    names = ["face_mesh", "face_mesh.theval_256"]
    calls: list[int] = []
    monkeypatch.setattr(C, "TRIM_EVERY", 7)
    tracks = {}
    for enabled in (False, True):
        monkeypatch.setattr(heap, "ENABLED", enabled)
        ctx = ClipContext(clip)
        monkeypatch.setattr(C, "trim_heap", lambda ctx=ctx: calls.append(ctx.frames_decoded) or heap.trim_heap())
        ctx.prepare(names)
        tracks[enabled] = [ctx.get(n) for n in names]
    n = ctx.frames_decoded
    assert n > 7
    # per pass: every 7th frame, then once after the pass
    assert calls == 2 * ([i for i in range(7, n + 1, 7)] + [n])
    for a, b in zip(tracks[False], tracks[True]):
        assert np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
        assert np.array_equal(a.frame_indices, b.frame_indices)
