"""Speech protocol (JWB-DH Table 1): ASR + WER, pairwise judge win-rates, the table.

Public API (imported lazily so that ``import avatar_eval.speech`` does not load faster-whisper):

* ASR: :class:`WhisperAsr`, :func:`resolve_asr_model`, :class:`Transcript`, :class:`AudioTooLong`
* text and scores: :func:`normalize_text`, :func:`score_texts`, :func:`aggregate_scores`
* data: :class:`Utterance`, :func:`load_utterances`, :class:`AudioFolder`, ``CATEGORIES``
* judges: :func:`parse_verdict`, :class:`HttpJudge`, :class:`CommandJudge`, :class:`VerdictCache`
* runs: :func:`run_wer`, :func:`run_judging`, :func:`import_study_votes`
* report: :func:`summarize`, :func:`table1_markdown`, :func:`table1_csv`

See docs/speech.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "WhisperAsr": "asr", "resolve_asr_model": "asr", "Transcript": "asr", "Word": "asr",
    "AsrModelRef": "asr", "AudioTooLong": "asr", "DEFAULT_ASR_MODEL": "asr",
    "DEFAULT_MAX_DURATION_S": "asr",
    "normalize_text": "normalize", "english_transform": "normalize",
    "number_to_words": "normalize",
    "score_texts": "wer", "WerScore": "wer", "aggregate_scores": "wer", "WerAggregate": "wer",
    "Utterance": "utterances", "load_utterances": "utterances", "AudioFolder": "utterances",
    "CATEGORIES": "utterances", "MissingAudio": "utterances",
    "parse_verdict": "judge", "VerdictParseError": "judge", "HttpJudge": "judge",
    "CommandJudge": "judge", "VerdictCache": "judge", "JudgeError": "judge",
    "JudgeRequest": "judge", "render_prompt": "judge",
    "run_wer": "evaluate", "run_judging": "evaluate", "import_study_votes": "evaluate",
    "WER_METRIC": "evaluate", "JUDGE_METRIC": "evaluate",
    "summarize": "report", "table1_markdown": "report", "table1_csv": "report",
    "bootstrap_ratio_ci": "stats", "wilson_ci": "stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'avatar_eval.speech' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
