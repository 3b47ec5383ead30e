"""Model weights: a registry of every file the toolkit uses, and offline-first resolution.

>>> from avatar_eval.weights import resolve_weight
>>> path = resolve_weight("topiq_iaa")  # doctest: +SKIP

Order: explicit ``path`` > ``$AVATAR_EVAL_W_<NAME>`` > ``$AVATAR_EVAL_WEIGHTS_DIR/<filename>`` >
``$AVATAR_EVAL_CACHE/<filename>`` (default ``~/.cache/avatar-eval/weights``) > download (temp
file, sha256 check, rename) unless ``AVATAR_EVAL_OFFLINE=1`` / ``HF_HUB_OFFLINE=1``. Failure is a
:class:`~avatar_eval.errors.WeightsUnavailable` listing every place tried and
``avatar-eval weights pull NAME``. See docs/weights.md.
"""

from __future__ import annotations

from .catalog import CATALOG
from .hashing import sha256_file
from .ops import VerifyResult, pull_weight, verify_weight
from .resolve import (
    CACHE_ENV,
    OFFLINE_ENV,
    WEIGHTS_DIR_ENV,
    Location,
    cache_dir,
    is_offline,
    locate,
    resolve_weight,
    weights_hashes,
)
from .spec import WeightSpec, env_var_for, get_weight_spec, list_weights, register_weight

for _spec in CATALOG:
    register_weight(_spec)
del _spec

__all__ = [
    "CACHE_ENV",
    "OFFLINE_ENV",
    "WEIGHTS_DIR_ENV",
    "Location",
    "VerifyResult",
    "WeightSpec",
    "cache_dir",
    "env_var_for",
    "get_weight_spec",
    "is_offline",
    "list_weights",
    "locate",
    "pull_weight",
    "register_weight",
    "resolve_weight",
    "sha256_file",
    "verify_weight",
    "weights_hashes",
]
