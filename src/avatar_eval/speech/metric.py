"""``speech.wer`` as a pipeline metric: the avatar's own speech against the sample's script.

Registered when this module is imported (the runner imports the modules listed in
``avatar_eval.metrics.registry._METRIC_MODULES``, or added with ``add_metric_module``). The script
is ``ClipContext.transcript`` (the manifest's transcript/text field); the audio is the clip's
``audio16k`` artifact (the manifest's audio file, else the video's own track). ASR options come
from ``ctx.options``: ``asr_model`` (name or directory; default the packaged tiny.en),
``asr_beam_size``, ``asr_max_duration_s``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import MetricUndefined
from ..metrics.base import Metric, MetricValue
from ..metrics.registry import register
from ..options import ASROptions, family_options
from .asr import DEFAULT_MAX_DURATION_S, WhisperAsr
from .wer import score_texts

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext

_ASR: dict[tuple[Any, ...], WhisperAsr] = {}
_LOCK = threading.Lock()


def shared_asr(model: str | None = None, beam_size: int = 5,
               max_duration_s: float = DEFAULT_MAX_DURATION_S) -> WhisperAsr:
    """One loaded model per configuration for the whole process."""
    key = (model, beam_size, max_duration_s)
    with _LOCK:
        if key not in _ASR:
            _ASR[key] = WhisperAsr(model, beam_size=beam_size, max_duration_s=max_duration_s)
        return _ASR[key]


@register
class SpeechWer(Metric):
    name = "speech.wer"
    family = "speech"
    quantity = "wer"
    estimator = "faster-whisper"
    version = "1"
    protocol = "speech"  # JWB-DH Table 1 (speech part); registered apart from the region metrics
    variant = "paper"
    higher_is_better = False
    requires = ("audio16k",)
    level = "sample"
    display = "WER"
    description = "Word error rate of the clip's speech (faster-whisper) against its script."

    def compute(self, ctx: "ClipContext") -> MetricValue:
        script = (ctx.transcript or "").strip()
        if not script:
            raise MetricUndefined("no script for this sample (manifest transcript/text is empty)")
        opts = ctx.options or {}
        ao = family_options(opts, ASROptions)
        asr = shared_asr(ao.model, ao.beam_size, ao.max_duration_s)
        wav, sr = ctx.get("audio16k")
        tr = asr.transcribe((wav, sr))
        sc = score_texts(script, tr.text)
        d = sc.to_dict()
        d.pop("wer", None)
        d.update(hypothesis=tr.text, language=tr.language, language_probability=tr.language_probability,
                 language_model=tr.language_model, flags=tr.flags,
                 suspect_non_english=tr.suspect_non_english, asr_model=tr.model,
                 words=tr.to_dict()["words"], duration_s=tr.duration_s)
        return MetricValue(sc.wer, d)
