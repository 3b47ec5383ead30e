"""Speed work never changes a number (issue 14): decoding in a second thread gives the frames of the
plain decode, in order, and the Face Mesh tracks computed from them are identical; the decode
thread stops when the consumer does; decoder errors surface at the same place."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.errors import InputError
from avatar_eval.io.video import iter_frames, iter_frames_ahead
from avatar_eval.pipeline import context as C
from avatar_eval.pipeline.context import ClipContext


def test_same_frames(clips: Path) -> None:
    clip = clips / "gt" / "grid_bbaf2n.mpg"
    plain = [(f.index, f.time, f.rgb) for f in iter_frames(clip)]
    ahead = [(f.index, f.time, f.rgb) for f in iter_frames_ahead(clip, 2)]
    assert len(plain) == len(ahead) > 0
    for (i, t, a), (j, u, b) in zip(plain, ahead):
        assert (i, t) == (j, u) and np.array_equal(a, b)


def test_consumer_stops_early(clips: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    it = iter_frames_ahead(clips / "gt" / "may.mp4", 2)
    next(it)
    it.close()  # the generator's finally stops and joins the decode thread
    assert not [t for t in threading.enumerate() if t.name == "decode-ahead" and t.name not in before]


def test_error_surfaces(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError):
        list(iter_frames_ahead(bad, 2))


def test_tracks_identical(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (held) Face Mesh track and a compat track, threaded decode vs plain."""
    clip = str(clips / "gt" / "face5.mp4")
    names = ["face_mesh", "face_mesh.theval_256"]
    tracks = {}
    for ahead in (0, 2):
        monkeypatch.setattr(C, "DECODE_AHEAD", ahead)
        ctx = ClipContext(clip)
        ctx.prepare(names)
        tracks[ahead] = [ctx.get(n) for n in names]
    for a, b in zip(tracks[0], tracks[2]):
        assert np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
        assert np.array_equal(a.frame_indices, b.frame_indices)


def _audio_whole_then_mean(path: Path, sr: int) -> np.ndarray:
    """decode_audio as it was before the per-chunk channel mean: all channels kept, averaged at the end."""
    from math import gcd

    import av
    from scipy.signal import resample_poly

    with av.open(str(path)) as c:
        st = c.streams.audio[0]
        native = int(st.rate)
        res = av.AudioResampler(format="fltp", layout=st.layout.name, rate=native)
        chunks = [o.to_ndarray() for fr in c.decode(st) for o in res.resample(fr)]
        chunks += [o.to_ndarray() for o in res.resample(None)]
    x = np.concatenate(chunks, axis=1).mean(axis=0).astype(np.float32)
    if sr != native:
        g = gcd(sr, native)
        x = resample_poly(x.astype(np.float64), sr // g, native // g).astype(np.float32)
    return x


@pytest.mark.parametrize("name", ["may.mp4", "grid_bbaf2n.mpg"])
def test_audio_chunk_mean_identical(clips: Path, name: str) -> None:
    from avatar_eval.io.video import decode_audio

    for sr in (16000, 44100):
        got, rate = decode_audio(clips / "gt" / name, sr)
        assert rate == sr and np.array_equal(got, _audio_whole_then_mean(clips / "gt" / name, sr))


def test_still_anchor_plane_kept_identical(clips: Path) -> None:
    """The held default track with the anchor's still plane kept across frames equals the track
    that recomputes it every frame (as before), on a frozen clip where most frames are held."""
    from avatar_eval.regions.face_mesh import DEFAULT_STILL_THRESHOLD, FaceMeshAnalyzer

    class Recompute(FaceMeshAnalyzer):
        def _hold(self, rgb, row, key_frame=False):  # type: ignore[no-untyped-def]
            self._anchor_plane = None
            return super()._hold(rgb, row, key_frame)

    tracks = []
    for cls in (FaceMeshAnalyzer, Recompute):
        a = cls(None, refine=True, hold_still=DEFAULT_STILL_THRESHOLD)
        for f in iter_frames(clips / "frozen" / "face5.mp4"):
            a.update(f)
        tracks.append(a.finalize())
        a.close()
    assert tracks[0].n_held > 0
    assert np.array_equal(tracks[0].held_from, tracks[1].held_from)
    assert np.array_equal(tracks[0].landmarks, tracks[1].landmarks, equal_nan=True)
