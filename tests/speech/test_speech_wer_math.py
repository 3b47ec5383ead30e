"""Text normalisation, WER/CER counts against an independent Levenshtein, aggregates and CIs."""

from __future__ import annotations

import random

import numpy as np
import pytest

from avatar_eval.errors import MetricUndefined
from avatar_eval.speech.normalize import normalize_text, number_to_words
from avatar_eval.speech.stats import bootstrap_ratio_ci, wilson_ci
from avatar_eval.speech.wer import aggregate_scores, score_texts


@pytest.mark.parametrize("raw, norm", [
    ("And Mr. John Dashwood had then leisure.", "and mister john dashwood had then leisure"),
    ("Go forward 10 meters.", "go forward ten meters"),
    ("Place white in J3, please.", "place white in j three please"),
    ("Set blue in A1 again", "set blue in a one again"),
    ("unless to be rather cold-hearted", "unless to be rather cold hearted"),
    ("I can't go, it's John's car and we won't wait", "i can not go it is johns car and we will not wait"),
    ("We'll see; you're right, they've gone, I'm here, I'd been there",
     "we will see you are right they have gone i am here i had been there"),
    ("[laughs] Haha, that's great! (sighs) Um, OK.", "haha that is great okay"),
    ("It costs $5.50, 3.5% of 1,000,000", "it costs five dollars fifty cents three point five percent of one million"),
    ("the 21st and 3rd, 12th, 100th", "the twenty first and third twelfth one hundredth"),
    ("the 1990s", "the one thousand nine hundred nineties"),
    ("Café naïve résumé", "cafe naive resume"),
    ("Dr. Smith & St. James", "doctor smith and saint james"),
    ("  ...  ", ""),
    ("\u2018Hello\u2019 she said \u2014 don\u2019t!", "hello she said do not"),
])
def test_normalize(raw, norm):
    assert normalize_text(raw) == norm


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (42, "forty two"),
    (100, "one hundred"), (101, "one hundred one"), (999, "nine hundred ninety nine"),
    (1000, "one thousand"), (2024, "two thousand twenty four"),
    (1_000_001, "one million one"), (-3, "minus three"),
])
def test_number_to_words(n, words):
    assert number_to_words(n) == words


def _levenshtein(a: list[str], b: list[str]) -> int:
    """Independent edit distance (plain DP) to check jiwer's counts."""
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def test_counts_match_independent_levenshtein():
    rng = random.Random(7)
    vocab = ["a", "b", "c", "d", "e", "f"]
    for _ in range(300):
        ref = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        sc = score_texts(" ".join(ref), " ".join(hyp))
        assert sc.word_errors == _levenshtein(ref, hyp)
        assert sc.wer == pytest.approx(_levenshtein(ref, hyp) / len(ref))
        assert sc.hits + sc.substitutions + sc.deletions == len(ref)
        assert sc.hits + sc.substitutions + sc.insertions == len(hyp)
        r, h = " ".join(ref), " ".join(hyp)
        assert sc.char_errors == _levenshtein(list(r), list(h))


def test_score_known_example_and_formatting_is_not_an_error():
    sc = score_texts("the cat sat on the mat", "the cat sat on a mat today")
    assert (sc.substitutions, sc.deletions, sc.insertions, sc.hits) == (1, 0, 1, 5)
    assert sc.wer == pytest.approx(2 / 6)
    assert score_texts("Go forward ten meters", "go forward 10 meters.").wer == 0.0
    assert score_texts("he is cold hearted", "He's cold-hearted!").wer == 0.0


def test_empty_hypothesis_and_empty_reference():
    sc = score_texts("one two three", "")
    assert sc.wer == 1.0 and sc.deletions == 3 and sc.cer == 1.0
    with pytest.raises(MetricUndefined):
        score_texts("[laughs]", "haha")
    assert score_texts("hello", "hello hello hello").wer == 2.0  # insertions can exceed 1


def test_corpus_aggregate_is_error_weighted_not_mean():
    a = score_texts("one two three four", "one two three four")  # 0/4
    b = score_texts("five", "six")  # 1/1
    agg = aggregate_scores([a, b])
    assert agg.wer == pytest.approx(1 / 5)
    assert agg.mean_utterance_wer == pytest.approx(0.5)
    assert agg.n == 2 and agg.ref_words == 5 and agg.substitutions == 1
    lo, hi = agg.wer_ci
    assert 0.0 <= lo <= agg.wer <= hi <= 1.0
    assert aggregate_scores([]).wer is None
    # from record details (dicts) too
    assert aggregate_scores([a.to_dict(), b.to_dict()]).wer == pytest.approx(0.2)


def test_bootstrap_ci_properties():
    x = np.r_[np.ones(30), np.zeros(70)]
    ci = bootstrap_ratio_ci(x, seed=1)
    assert ci == bootstrap_ratio_ci(x, seed=1)  # seeded
    assert ci[0] < 0.3 < ci[1]
    # normal-approximation width for p=0.3, n=100: ±0.09
    assert 0.12 < ci[1] - ci[0] < 0.24
    assert bootstrap_ratio_ci([]) is None
    assert bootstrap_ratio_ci([1.0]) == (1.0, 1.0)
    narrow = bootstrap_ratio_ci(np.r_[np.ones(300), np.zeros(700)], seed=1)
    assert narrow[1] - narrow[0] < ci[1] - ci[0]


def test_wilson_ci():
    lo, hi = wilson_ci(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert wilson_ci(0, 0) is None
    lo, hi = wilson_ci(10, 10)
    assert hi == pytest.approx(1.0) and 0.6 < lo < 0.8
