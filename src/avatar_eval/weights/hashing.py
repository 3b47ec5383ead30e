"""SHA-256 of weight files, with a small on-disk cache so big files are hashed once.

The cache is one JSON record per file under ``<cache dir>/.sha256/``, keyed by the file's absolute
path and valid only while its size and mtime (ns) are unchanged. Writing it is best effort: an
unwritable cache only costs a rehash next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (streamed, constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _record_path(path: Path, index_dir: Path) -> Path:
    key = hashlib.sha1(str(path).encode("utf-8")).hexdigest()
    return index_dir / f"{key}.json"


def cached_sha256(
    path: str | os.PathLike[str], index_dir: str | os.PathLike[str] | None, *, refresh: bool = False
) -> str:
    """SHA-256 of ``path``, reusing the record in ``index_dir`` when size and mtime still match.

    ``refresh=True`` rehashes regardless (and updates the record); ``index_dir=None`` disables
    the cache.
    """
    p = Path(path).resolve()
    st = p.stat()
    rec_path = _record_path(p, Path(index_dir)) if index_dir is not None else None
    if rec_path is not None and not refresh:
        try:
            rec = json.loads(rec_path.read_text("utf-8"))
            if (
                rec.get("path") == str(p)
                and rec.get("size") == st.st_size
                and rec.get("mtime_ns") == st.st_mtime_ns
                and isinstance(rec.get("sha256"), str)
            ):
                return str(rec["sha256"])
        except (OSError, ValueError):
            pass
    digest = sha256_file(p)
    if rec_path is not None:
        _write_record(
            rec_path,
            {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest},
        )
    return digest


def record_sha256(
    path: str | os.PathLike[str], digest: str, index_dir: str | os.PathLike[str]
) -> None:
    """Remember a digest computed elsewhere (e.g. while downloading) for ``path`` as it is now."""
    p = Path(path).resolve()
    st = p.stat()
    _write_record(
        _record_path(p, Path(index_dir)),
        {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest},
    )


def _write_record(rec_path: Path, rec: dict[str, object]) -> None:
    try:
        rec_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rec.", suffix=".tmp", dir=rec_path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(rec, f)
            os.replace(tmp, rec_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError:
        pass  # best effort


def tree_sha256(
    root: str | os.PathLike[str], index_dir: str | os.PathLike[str] | None, *, refresh: bool = False
) -> str:
    """One digest for a model directory: SHA-256 over ``relpath NUL sha256 LF`` of every file,
    sorted by path. Hidden entries (``.cache/`` left by huggingface_hub, ``.gitattributes``) are
    skipped."""
    base = Path(root)
    lines: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            fp = Path(dirpath) / fn
            rel = fp.relative_to(base).as_posix()
            lines.append(f"{rel}\0{cached_sha256(fp, index_dir, refresh=refresh)}\n")
    h = hashlib.sha256()
    for line in sorted(lines):
        h.update(line.encode("utf-8"))
    return h.hexdigest()
