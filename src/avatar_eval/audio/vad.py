"""Silero VAD, offline: the v5 model bundled with avatar-eval (what THEval's reference numbers
used) or the v6 model that ships inside the installed silero-vad package.

Both run through the installed package's ``get_speech_timestamps`` with library defaults
(threshold 0.5, 250 ms min speech, 100 ms min silence, 30 ms pad), as THEval calls it.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from ..errors import UnknownNameError

_V5 = Path(__file__).resolve().parent.parent / "data" / "silero_vad_v5.jit"
V5_SHA256 = "85c48e1f0ecb604e5d2a268f3ccfb912d4f7e935acdc86af5a3fc5b0aea7b29a"
VAD_MODELS = ("silero-v5", "silero-v6")
DEFAULT_VAD = "silero-v5"


@functools.lru_cache(maxsize=2)
def _model(name: str):
    import torch

    if name == "silero-v5":
        digest = hashlib.sha256(_V5.read_bytes()).hexdigest()
        if digest != V5_SHA256:
            raise RuntimeError(f"bundled {_V5} is damaged (sha256 {digest}, expected {V5_SHA256})")
        m = torch.jit.load(str(_V5), map_location="cpu")
        m.eval()
        return m
    if name == "silero-v6":
        from silero_vad import load_silero_vad

        return load_silero_vad()
    raise UnknownNameError(f"unknown VAD model {name!r}; choose one of {', '.join(VAD_MODELS)}")


def vad_sha256(name: str = DEFAULT_VAD) -> str:
    """sha256 of the VAD model file that ``name`` loads (the bundled v5 file or the package's v6)."""
    if name == "silero-v5":
        return V5_SHA256
    if name == "silero-v6":
        try:
            import silero_vad

            root = Path(silero_vad.__file__).resolve().parent / "data"
            for fname in ("silero_vad.jit", "silero_vad.onnx"):
                if (root / fname).exists():
                    return hashlib.sha256((root / fname).read_bytes()).hexdigest()
        except Exception as e:  # noqa: BLE001 - provenance never fails a run
            return f"unknown ({type(e).__name__}: {e})"
        return "unknown (no model file found in silero_vad/data)"
    raise UnknownNameError(f"unknown VAD model {name!r}; choose one of {', '.join(VAD_MODELS)}")


def vad_description(name: str = DEFAULT_VAD) -> str:
    try:
        from importlib.metadata import version

        pkg = version("silero-vad")
    except Exception:  # noqa: BLE001
        pkg = "unknown"
    if name == "silero-v5":
        return f"silero VAD v5 model (bundled, sha256 {V5_SHA256[:12]}…) with silero-vad {pkg} utilities"
    return f"silero VAD model shipped in silero-vad {pkg}"


def speech_segments(wav: np.ndarray, sr: int = 16000, model: str = DEFAULT_VAD) -> list[tuple[float, float]]:
    """Speech segments in seconds, silero's library defaults."""
    import torch
    from silero_vad import get_speech_timestamps

    if sr != 16000:
        raise ValueError("silero VAD here is fed 16 kHz audio")
    if wav.size == 0:
        return []
    m = _model(model)
    with torch.inference_mode():
        ts = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)), m, sampling_rate=sr, return_seconds=True
        )
    if hasattr(m, "reset_states"):
        m.reset_states()
    return [(float(t["start"]), float(t["end"])) for t in ts]
