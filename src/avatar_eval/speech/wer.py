"""WER / CER of one utterance and corpus-level aggregates with bootstrap CIs.

Per utterance, both texts are normalised with :func:`~avatar_eval.speech.normalize.english_transform`
and aligned by jiwer (Levenshtein over words; over characters for CER, spaces included as in
jiwer's default). The aggregate is the *corpus* WER, ``sum(S + D + I) / sum(N_ref)`` (how ASR
papers and EmergentTTS-Eval report it), not the mean of per-utterance WERs (also given); its CI
resamples utterances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import jiwer

from ..errors import MetricUndefined
from .normalize import NORMALIZER_VERSION, english_transform
from .stats import DEFAULT_N_BOOT, bootstrap_ratio_ci

__all__ = ["WerScore", "score_texts", "WerAggregate", "aggregate_scores"]


@dataclass
class WerScore:
    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    ref_words: int
    char_errors: int
    ref_chars: int
    reference_norm: str
    hypothesis_norm: str
    normalizer: str = NORMALIZER_VERSION

    @property
    def word_errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_texts(reference: str, hypothesis: str) -> WerScore:
    """WER/CER of ``hypothesis`` against ``reference`` after normalisation.

    Raises :class:`MetricUndefined` when the normalised reference is empty (no word to get wrong).
    An empty hypothesis is a valid answer: every reference word is a deletion (WER 1).
    """
    tr = english_transform()
    ref_words = tr(reference or "")[0]
    hyp_words = tr(hypothesis or "")[0]
    if not ref_words:
        raise MetricUndefined("the reference text is empty after normalisation: WER is undefined")
    ref_n, hyp_n = " ".join(ref_words), " ".join(hyp_words)
    ident = jiwer.Compose([jiwer.ReduceToListOfListOfWords()])
    if hyp_words:
        w = jiwer.process_words(ref_n, hyp_n, reference_transform=ident, hypothesis_transform=ident)
        s, d, i, h = w.substitutions, w.deletions, w.insertions, w.hits
        c = jiwer.process_characters(ref_n, hyp_n)
        char_err = c.substitutions + c.deletions + c.insertions
    else:
        s, d, i, h = 0, len(ref_words), 0, 0
        char_err = len(ref_n)
    return WerScore(
        wer=(s + d + i) / len(ref_words),
        cer=char_err / len(ref_n),
        substitutions=s, deletions=d, insertions=i, hits=h,
        ref_words=len(ref_words), char_errors=char_err, ref_chars=len(ref_n),
        reference_norm=ref_n, hypothesis_norm=hyp_n,
    )


@dataclass
class WerAggregate:
    n: int
    wer: float | None  # corpus WER
    wer_ci: tuple[float, float] | None
    cer: float | None
    cer_ci: tuple[float, float] | None
    mean_utterance_wer: float | None
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate_scores(
    scores: Iterable[WerScore | dict[str, Any]], *, n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95, seed: int = 0,
) -> WerAggregate:
    """Corpus WER/CER of utterance scores (objects or their ``to_dict()``) with bootstrap CIs."""
    rows = [s.to_dict() if isinstance(s, WerScore) else dict(s) for s in scores]
    if not rows:
        return WerAggregate(0, None, None, None, None, None, 0, 0, 0, 0)
    S = [int(r["substitutions"]) for r in rows]
    D = [int(r["deletions"]) for r in rows]
    I = [int(r["insertions"]) for r in rows]
    N = [int(r["ref_words"]) for r in rows]
    E = [s + d + i for s, d, i in zip(S, D, I)]
    CE = [int(r["char_errors"]) for r in rows]
    CN = [int(r["ref_chars"]) for r in rows]
    return WerAggregate(
        n=len(rows),
        wer=sum(E) / sum(N),
        wer_ci=bootstrap_ratio_ci(E, N, n_boot=n_boot, confidence=confidence, seed=seed),
        cer=sum(CE) / sum(CN),
        cer_ci=bootstrap_ratio_ci(CE, CN, n_boot=n_boot, confidence=confidence, seed=seed),
        mean_utterance_wer=sum(e / n for e, n in zip(E, N)) / len(rows),
        substitutions=sum(S), deletions=sum(D), insertions=sum(I), ref_words=sum(N),
    )
