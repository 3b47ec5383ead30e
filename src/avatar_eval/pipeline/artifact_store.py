"""Tracks kept on disk, so a clip is decoded and tracked once per run however many jobs need it.

A run directory's ``artifacts/`` folder holds the *persistable* frame artifacts (those registered
with ``persist=True``: the default Face Mesh track, the region tracks, the region crop videos) of
every clip the run analysed. A GT clip paired with three models is tracked by the first job that
needs it; the other two (in this process, another worker process, or a later rerun) load it.

Key of an entry (what can change the artifact's value, and nothing else):

* the artifact's name;
* the clip's content hash (a renamed or copied file hits, an edited one misses);
* the options the clip context carries (all of them: cheap and safe), with the manifest's
  regions file replaced by its content hash (its boxes win over the detector's);
* the avatar-eval code that computes it: a hash of every ``.py`` file of the installed package
  (an edited tracker never serves a stale track), and the versions of the packages whose kernels
  compute it (mediapipe, numpy, opencv, av).

Concurrency: the first job that misses an artifact takes an exclusive ``flock`` on the clip's lock
file, computes, writes (temp file + rename) and releases; a job that finds the lock held waits,
then loads. Locks of several clips are taken in content-hash order (a generated clip may be a copy
of another sample's GT, as the ``gt-swapped`` baseline is), and re-entrantly per thread. On a
cluster the run directory must be on a filesystem with working ``flock`` (NFSv4, Lustre, CephFS);
where it is not, two workers may track the same clip twice (never a wrong value: each writes the
same bytes under the same key).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pickle
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from ..cache import content_digest

_MISSING = object()
_CODE_DIGEST: str | None = None
_LOCKS: dict[tuple[int, str], tuple[int, int]] = {}  # (thread, lock path) -> (fd, depth)
_LOCKS_GUARD = threading.RLock()
_PACKAGES = ("mediapipe", "numpy", "opencv-python", "opencv-python-headless", "opencv-contrib-python", "av")


def code_digest() -> str:
    """sha256 over the avatar-eval package's Python sources and the versions of the packages
    whose kernels compute tracks (memoised per process)."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for p in sorted(root.rglob("*.py")):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
        for name in _PACKAGES:
            try:
                h.update(f"{name}=={metadata.version(name)}".encode())
            except metadata.PackageNotFoundError:
                pass
        _CODE_DIGEST = h.hexdigest()
    return _CODE_DIGEST


def _options_digest(options: dict[str, Any]) -> str:
    opts = dict(options or {})
    rf = opts.get("regions_file")
    if rf:
        opts["regions_file"] = content_digest(rf) if Path(rf).is_file() else f"absent:{rf}"
    return hashlib.sha256(json.dumps(opts, sort_keys=True, default=str).encode()).hexdigest()


class ArtifactStore:
    """Persisted artifacts of the clips of one run (see module doc)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def key(self, video: str, name: str, options: dict[str, Any]) -> str:
        h = hashlib.sha256()
        for part in (name, content_digest(video), _options_digest(options), code_digest()):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:40]

    def _entry(self, video: str, name: str, options: dict[str, Any]) -> Path:
        safe = name.replace(":", "+").replace("/", "_")
        return self.root / safe / f"{self.key(video, name, options)}.pkl"

    def workdir(self, video: str, name: str, options: dict[str, Any]) -> Path:
        """A folder an artifact may write files into (crop videos), kept with its entry."""
        d = self._entry(video, name, options).with_suffix(".d")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def load(self, video: str, name: str, options: dict[str, Any]) -> Any:
        p = self._entry(video, name, options)
        if not p.exists():
            return _MISSING
        try:
            with open(p, "rb") as f:
                value = pickle.load(f)
        except Exception:  # noqa: BLE001 - unreadable: recompute and overwrite
            return _MISSING
        d = getattr(value, "directory", None)
        if d is not None and not Path(d).is_dir():  # files it points to are gone (run dir moved)
            return _MISSING
        return value

    def save(self, video: str, name: str, options: dict[str, Any], value: Any) -> None:
        p = self._entry(video, name, options)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)

    @contextlib.contextmanager
    def lock(self, videos: list[str]) -> Iterator[None]:
        """Exclusive locks on these clips (content-hash order, re-entrant in this thread)."""
        paths = sorted({str(self.root / "locks" / f"{content_digest(v)[:40]}.lock") for v in videos})
        taken: list[str] = []
        try:
            for p in paths:
                _acquire(p)
                taken.append(p)
            yield
        finally:
            for p in reversed(taken):
                _release(p)


def _acquire(path: str) -> None:
    key = (threading.get_ident(), path)
    with _LOCKS_GUARD:
        if key in _LOCKS:
            fd, depth = _LOCKS[key]
            _LOCKS[key] = (fd, depth + 1)
            return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another process (or thread) computes this clip
    with _LOCKS_GUARD:
        _LOCKS[key] = (fd, 1)


def _release(path: str) -> None:
    key = (threading.get_ident(), path)
    with _LOCKS_GUARD:
        fd, depth = _LOCKS[key]
        if depth > 1:
            _LOCKS[key] = (fd, depth - 1)
            return
        del _LOCKS[key]
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def is_missing(value: Any) -> bool:
    return value is _MISSING
