"""Measure the offline ASR model's WER on the real speech in ../shared/data (docs/speech.md).

    PYTHONPATH=src python tests/speech/measure_wer.py [--asr-model NAME_OR_DIR] [--shared DIR]

Prints one line per dataset (corpus WER with a 95% bootstrap CI, CER, n) and per utterance
(reference vs hypothesis), plus the WER of a shuffled pairing of transcripts (the control).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from speech_data import DATASETS, shared_root, shuffled  # noqa: E402

from avatar_eval.speech.asr import WhisperAsr  # noqa: E402
from avatar_eval.speech.wer import aggregate_scores, score_texts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--asr-model", default=None)
    ap.add_argument("--shared", default=None)
    a = ap.parse_args()
    root = Path(a.shared) if a.shared else shared_root()
    if root is None:
        sys.exit("../shared/data not found (pass --shared DIR)")
    asr = WhisperAsr(a.asr_model)
    m = asr.describe()
    print(f"ASR: faster-whisper {m['engine_version']} {m['name']} ({m['source']}), beam {asr.beam_size}")
    all_scores, all_refs, all_hyps = [], [], []
    for name, items in DATASETS(root).items():
        scores, refs, hyps = [], [], []
        for path, ref in items:
            tr = asr.transcribe(path)
            sc = score_texts(ref, tr.text)
            scores.append(sc)
            refs.append(ref)
            hyps.append(tr.text)
            print(f"  {name:9s} {path.name:48s} wer={sc.wer:.3f} lp={tr.avg_logprob:.2f} "
                  f"flags={','.join(tr.flags) or '-'}\n      ref: {sc.reference_norm}\n      hyp: {sc.hypothesis_norm}")
        agg = aggregate_scores(scores)
        shuf = aggregate_scores([score_texts(r, h) for r, h in zip(shuffled(refs), hyps)])
        print(f"{name}: n={agg.n} WER={100 * agg.wer:.2f}% CI=[{100 * agg.wer_ci[0]:.1f}, "
              f"{100 * agg.wer_ci[1]:.1f}] CER={100 * agg.cer:.2f}% words={agg.ref_words} "
              f"(S={agg.substitutions} D={agg.deletions} I={agg.insertions}); shuffled WER={100 * shuf.wer:.1f}%")
        all_scores += scores
        all_refs += refs
        all_hyps += hyps
    agg = aggregate_scores(all_scores)
    shuf = aggregate_scores([score_texts(r, h) for r, h in zip(shuffled(all_refs), all_hyps)])
    print(f"ALL: n={agg.n} WER={100 * agg.wer:.2f}% CI=[{100 * agg.wer_ci[0]:.1f}, "
          f"{100 * agg.wer_ci[1]:.1f}] CER={100 * agg.cer:.2f}%; shuffled WER={100 * shuf.wer:.1f}%")


if __name__ == "__main__":
    main()
