"""A stand-in ``torchaudio`` for running the official THEval scripts beside the CPU torch here.

PyPI's torchaudio wheels do not load with the torch build on this machine, and silero-vad 5.1.2's
``read_audio`` needs just three things of torchaudio: ``list_audio_backends``,
``sox_effects.apply_effects_file`` (which fails here, as it does wherever libsox is absent, so
``read_audio`` falls back to) ``load`` and ``transforms.Resample``. ``load`` reads with soundfile
(float32, channels first: what torchaudio's soundfile backend returns for PCM WAV); ``Resample``
is torchaudio's default band-limited sinc resampler with a Hann window (``lowpass_filter_width=6``,
``rolloff=0.99``), written from its published definition. Used by
``benchmarks/theval_official_values.py --torchaudio-standin``; never imported by avatar-eval.
"""

from __future__ import annotations

import math

import soundfile as sf
import torch

__version__ = "0.0-standin"


def list_audio_backends() -> list[str]:
    return ["soundfile"]


def load(path, *args, **kwargs):
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), sr


class _SoxEffects:
    @staticmethod
    def apply_effects_file(*args, **kwargs):
        raise RuntimeError("sox effects are not available (stand-in)")


sox_effects = _SoxEffects()


def _sinc_kernel(orig: int, new: int, gcd: int, width_z: int = 6, rolloff: float = 0.99):
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(width_z * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + idx
    t *= base
    t = t.clamp_(-width_z, width_z)
    window = torch.cos(t * math.pi / width_z / 2) ** 2
    t *= math.pi
    scale = base / orig
    kernels = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t)
    kernels *= window * scale
    return kernels.to(torch.float32), width


class _Resample(torch.nn.Module):
    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000, **kwargs):
        super().__init__()
        self.orig, self.new = int(orig_freq), int(new_freq)
        self.gcd = math.gcd(self.orig, self.new)
        self.kernel, self.width = _sinc_kernel(self.orig, self.new, self.gcd)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.orig == self.new:
            return waveform
        orig, new = self.orig // self.gcd, self.new // self.gcd
        shape = waveform.size()
        x = waveform.view(-1, shape[-1])
        n, length = x.shape
        x = torch.nn.functional.pad(x, (self.width, self.width + orig))
        y = torch.nn.functional.conv1d(x[:, None], self.kernel.to(x.dtype), stride=orig)
        y = y.transpose(1, 2).reshape(n, -1)
        target = int(math.ceil(new * length / orig))
        y = y[..., :target]
        return y.reshape(shape[:-1] + y.shape[-1:])


class _Transforms:
    Resample = _Resample


transforms = _Transforms()
