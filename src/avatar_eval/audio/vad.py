"""Silero VAD (the model ships inside the silero-vad package: no download)."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _model():
    from silero_vad import load_silero_vad

    return load_silero_vad()


def silero_version() -> str:
    try:
        from importlib.metadata import version

        return version("silero-vad")
    except Exception:  # noqa: BLE001
        return "unknown"


def speech_segments(wav: np.ndarray, sr: int = 16000) -> list[tuple[float, float]]:
    """Speech segments (seconds) with silero's library defaults (threshold 0.5, 250 ms min speech,
    100 ms min silence, 30 ms pad), as THEval calls ``get_speech_timestamps``."""
    import torch
    from silero_vad import get_speech_timestamps

    if sr != 16000:
        raise ValueError("silero VAD here is fed 16 kHz audio")
    if wav.size == 0:
        return []
    ts = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), _model(), sampling_rate=sr, return_seconds=True)
    return [(float(t["start"]), float(t["end"])) for t in ts]
