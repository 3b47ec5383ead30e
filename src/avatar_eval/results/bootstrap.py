"""The one bootstrap of avatar-eval: its default number of resamples and its resampling routine.

Used by the summary tables and reports (``results.aggregate.bootstrap_ci``: percentile CI of a
mean over clips), the JWB-DH tables, and the speech protocol (``speech.stats.bootstrap_ratio_ci``:
corpus WER and win rates). numpy only, so the CLI can read the default without pandas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Bootstrap index matrices are drawn in chunks of at most this many elements (8 bytes each), so
# memory stays bounded for large n while each chunk is one vectorised numpy operation.
_CHUNK_ELEMENTS = 4_000_000

#: resamples of every bootstrap in avatar-eval (summary tables, reports, JWB-DH tables, speech
#: WER / win-rate intervals): one default, one resampling routine (:func:`bootstrap_distribution`)
DEFAULT_N_BOOT = 10_000


def bootstrap_distribution(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """``statistic`` of ``n_boot`` resamples of ``n`` items with replacement.

    ``statistic`` gets a (k, n) matrix of item indices (k resamples) and returns k values. The
    indices are drawn with ``numpy.random.default_rng(seed).integers`` in chunks of whole
    resamples, so the result for a given seed does not depend on the chunk size.
    """
    if n < 1:
        raise ValueError("bootstrap of an empty sample")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.empty(n_boot, dtype=float)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        out[start:stop] = statistic(rng.integers(0, n, size=(stop - start, n)))
    return out
