"""Reference baselines: outputs every benchmark can have without a model (a floor and a ceiling).

=============  ===============================================================================
``still``      the sample's reference image (else the GT's first frame) held for the audio's length,
               with the audio — no motion at all (floor for dynamics, lip sync)
``gt-copy``    the GT video itself, re-encoded (H.264 CRF 18): the ceiling
``gt-shifted`` the GT with its audio delayed by 0.5 s (a sync error of known size)
``gt-swapped`` the GT with the next sample's audio (cut or zero-padded to length)
``gt-frozen``  the GT's first frame held for the GT's length, with the GT's audio
=============  ===============================================================================

Each builder writes ``dst`` (mp4) from one sample; the audio is the sample's ``audio`` file when
the manifest gives one, else the GT's own track.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.video import decode_audio, iter_frames, probe
from ..pipeline.manifest import Sample

__all__ = ["BASELINES", "SHIFT_S", "build_baseline"]

#: audio delay of ``gt-shifted``, seconds
SHIFT_S = 0.5
#: frame rate of ``still`` when the sample has no GT video to copy it from
STILL_FPS = 25.0


def _write(dst: Path, frames, fps: float, audio):
    from ..testing.variants import _write as write

    return write(dst, frames, fps, audio)


def _audio(sample: Sample) -> tuple[np.ndarray, int]:
    src = sample.audio or sample.gt
    if not src:
        raise InputError(f"sample {sample.id}: no audio (manifest `audio`) and no GT video to take it from")
    return decode_audio(src, 16000)


def _need_gt(sample: Sample, what: str) -> str:
    if not sample.gt:
        raise InputError(f"sample {sample.id}: the {what} baseline needs the sample's GT video")
    return sample.gt


def _still(sample: Sample, dst: Path, others: list[Sample]) -> Path:
    wav, sr = _audio(sample)
    if sample.reference_image:
        from ..metrics.idc import read_image_rgb

        img = read_image_rgb(sample.reference_image)
    elif sample.gt:
        img = next(iter(iter_frames(sample.gt))).rgb
    else:
        raise InputError(f"sample {sample.id}: the still baseline needs a reference image or a GT video")
    fps = probe(sample.gt).fps if sample.gt else STILL_FPS
    n = max(1, int(round(len(wav) / sr * fps)))
    return _write(dst, (img for _ in range(n)), fps, (wav, sr))


def _gt_frames(gt: str):
    return (f.rgb for f in iter_frames(gt))


def _gt_copy(sample: Sample, dst: Path, others: list[Sample]) -> Path:
    gt = _need_gt(sample, "gt-copy")
    info = probe(gt)
    audio = _audio(sample) if (sample.audio or info.has_audio) else None
    return _write(dst, _gt_frames(gt), info.fps, audio)


def _placed(wav: np.ndarray, src: np.ndarray, at: int = 0) -> np.ndarray:
    """``src`` written into a silent copy of ``wav`` from sample ``at`` on (cut to ``wav``'s length)."""
    out = np.zeros_like(wav)
    n = max(0, min(len(wav) - at, len(src)))
    out[at:at + n] = src[:n]
    return out


def _gt_shifted(sample: Sample, dst: Path, others: list[Sample]) -> Path:
    gt = _need_gt(sample, "gt-shifted")
    wav, sr = _audio(sample)
    return _write(dst, _gt_frames(gt), probe(gt).fps, (_placed(wav, wav, int(round(SHIFT_S * sr))), sr))


def _gt_swapped(sample: Sample, dst: Path, others: list[Sample]) -> Path:
    gt = _need_gt(sample, "gt-swapped")
    cands = [o for o in others if o.id != sample.id and (o.audio or o.gt)]
    if not cands:
        raise InputError(f"sample {sample.id}: gt-swapped needs another sample with audio")
    ids = [o.id for o in others]
    i = ids.index(sample.id) if sample.id in ids else -1
    donor = next((others[(i + k) % len(others)] for k in range(1, len(others) + 1)
                  if others[(i + k) % len(others)] in cands), cands[0])  # the next sample with audio
    wav, sr = _audio(sample)
    return _write(dst, _gt_frames(gt), probe(gt).fps, (_placed(wav, _audio(donor)[0]), sr))


def _gt_frozen(sample: Sample, dst: Path, others: list[Sample]) -> Path:
    gt = _need_gt(sample, "gt-frozen")
    info = probe(gt)
    first = next(iter(iter_frames(gt))).rgb
    n = sum(1 for _ in iter_frames(gt))
    audio = _audio(sample) if (sample.audio or info.has_audio) else None
    return _write(dst, (first for _ in range(n)), info.fps, audio)


BASELINES: dict[str, Callable[[Sample, Path, list[Sample]], Path]] = {
    "still": _still, "gt-copy": _gt_copy, "gt-shifted": _gt_shifted, "gt-swapped": _gt_swapped,
    "gt-frozen": _gt_frozen,
}


def build_baseline(kind: str, sample: Sample, dst: str | Path, samples: list[Sample]) -> Path:
    """Write baseline ``kind`` of ``sample`` to ``dst`` (``samples``: the benchmark, for gt-swapped)."""
    if kind not in BASELINES:
        raise InputError(f"unknown baseline {kind!r}; known: {', '.join(BASELINES)}")
    return BASELINES[kind](sample, Path(dst), samples)
