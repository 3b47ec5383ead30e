"""Feature cache keyed by file content: features of a clip are computed once, whoever asks.

Key = sha256 of the file's bytes (so a renamed or copied clip hits, an edited one misses) + a
feature key naming the extractor and its preprocessing (e.g.
``"jwbdh16.tv_inception.face.compat.v1"``). Values are numpy arrays stored as ``.npy`` files,
written atomically (temp file + rename), so parallel workers never read a torn file.

Location: ``$AVATAR_EVAL_FEATURE_CACHE`` or ``<AVATAR_EVAL_CACHE parent>/features``
(default ``~/.cache/avatar-eval/features``). ``AVATAR_EVAL_FEATURE_CACHE=off`` disables it.
Content digests are memoised per (path, size, mtime) in the process.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ENV = "AVATAR_EVAL_FEATURE_CACHE"
_DIGESTS: dict[tuple[str, int, int], str] = {}


def content_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    p = Path(path)
    st = p.stat()
    k = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if k not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for b in iter(lambda: f.read(chunk), b""):
                h.update(b)
        _DIGESTS[k] = h.hexdigest()
    return _DIGESTS[k]


def default_root() -> Path | None:
    v = os.environ.get(ENV)
    if v is not None and v.strip().lower() in ("off", "0", "none", ""):
        return None
    if v:
        return Path(v).expanduser()
    base = os.environ.get("AVATAR_EVAL_CACHE")
    if base:
        return Path(base).expanduser().parent / "features"
    return Path("~/.cache/avatar-eval/features").expanduser()


class FeatureCache:
    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _safe(key: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:+-]+", key):
            raise ValueError(f"feature key {key!r}: use letters, digits and _ . : + -")
        return key.replace(":", "+")

    def path(self, video: str | os.PathLike[str], key: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / self._safe(key) / f"{content_digest(video)}.npy"

    def get(self, video: str | os.PathLike[str], key: str) -> np.ndarray | None:
        p = self.path(video, key)
        if p is None or not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            return None  # unreadable: recompute (and overwrite)

    def put(self, video: str | os.PathLike[str], key: str, value: np.ndarray) -> None:
        p = self.path(video, key)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".npy", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.asarray(value), allow_pickle=False)
            os.replace(tmp, p)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get_or_compute(self, video: str | os.PathLike[str], key: str, fn: Callable[[], np.ndarray]) -> np.ndarray:
        v = self.get(video, key)
        if v is not None:
            self.hits += 1
            return v
        self.misses += 1
        v = np.asarray(fn())
        self.put(video, key, v)
        return v


_DEFAULT: FeatureCache | None = None


def feature_cache() -> FeatureCache:
    """The process-wide cache (root read from the environment on first use)."""
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.root != default_root():
        _DEFAULT = FeatureCache()
    return _DEFAULT
