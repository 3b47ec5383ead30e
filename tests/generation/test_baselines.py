"""Reference baselines, checked by construction on 30-frame cuts of the shipped clips."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_eval.errors import InputError
from avatar_eval.generation.baselines import SHIFT_S, build_baseline
from avatar_eval.io.video import decode_audio, iter_frames, probe
from avatar_eval.pipeline.manifest import Sample
from avatar_eval.testing import variants as V


@pytest.fixture(scope="module")
def samples(tmp_path_factory, clips):
    d = tmp_path_factory.mktemp("bl")
    out = []
    for stem in ("face5", "may"):
        gt = V.first_frames(clips / "gt" / f"{stem}.mp4", d / f"{stem}.mp4", 50)
        out.append(Sample(id=stem, gt=str(gt)))
    return out


def _frames(p):
    return [f.rgb for f in iter_frames(p)]


def _lag(a: np.ndarray, b: np.ndarray) -> int:
    """Samples by which ``b`` lags ``a`` (cross-correlation peak)."""
    n = min(len(a), len(b))
    c = np.correlate(b[:n], a[:n], mode="full")
    return int(np.argmax(c)) - (n - 1)


def test_baselines_by_construction(samples, tmp_path):
    may, face5 = samples[1], samples[0]
    copy = build_baseline("gt-copy", may, tmp_path / "copy.mp4", samples)
    ref = _frames(may.gt)
    got = _frames(copy)
    assert len(got) == len(ref) == 50
    assert np.abs(got[10].astype(int) - ref[10].astype(int)).mean() < 2.0  # CRF 18 re-encode

    frozen = _frames(build_baseline("gt-frozen", may, tmp_path / "frozen.mp4", samples))
    # one image encoded 50 times: H.264 (CRF 18) re-anchors at its key frames, so decoded frames may
    # differ from each other by a fraction of a grey level, never by motion
    assert len(frozen) == 50
    assert max(np.abs(f.astype(int) - frozen[0].astype(int)).mean() for f in frozen) < 1.0

    still = build_baseline("still", may, tmp_path / "still.mp4", samples)
    assert abs(probe(still).duration - probe(may.gt).duration) <= 0.1
    fr = _frames(still)
    assert max(np.abs(f.astype(int) - fr[0].astype(int)).mean() for f in fr) < 1.0

    a_copy, sr = decode_audio(copy, 16000)
    a_shift, _ = decode_audio(build_baseline("gt-shifted", may, tmp_path / "shift.mp4", samples), 16000)
    assert abs(_lag(a_copy, a_shift) - SHIFT_S * sr) <= 2  # same codec path: the delay is exact

    a_swap, _ = decode_audio(build_baseline("gt-swapped", may, tmp_path / "swap.mp4", samples), 16000)
    a_face5, _ = decode_audio(build_baseline("gt-copy", face5, tmp_path / "f5.mp4", samples), 16000)
    n = min(len(a_swap), len(a_face5))
    assert np.corrcoef(a_swap[:n], a_face5[:n])[0, 1] > 0.95  # the other sample's audio
    assert abs(np.corrcoef(a_swap[:n], a_copy[:n])[0, 1]) < 0.3


def test_missing_inputs_are_said(samples, tmp_path):
    with pytest.raises(InputError, match="needs the sample's GT"):
        build_baseline("gt-copy", Sample(id="x", audio=samples[0].gt), tmp_path / "x.mp4", samples)
    with pytest.raises(InputError, match="another sample with audio"):
        build_baseline("gt-swapped", samples[0], tmp_path / "x.mp4", samples[:1])
    with pytest.raises(InputError, match="unknown baseline"):
        build_baseline("best", samples[0], tmp_path / "x.mp4", samples)
