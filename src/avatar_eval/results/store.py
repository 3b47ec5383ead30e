"""Append-only JSONL store of records, safe to resume.

Every record is written as one complete line with a single ``write`` + ``flush`` + ``fsync``. A
run killed mid-write leaves at most one torn last line; :class:`RecordStore` drops it on open
(keeping a copy in ``records.jsonl.torn``) so a rerun resumes from every complete record and
never duplicates one. What a rerun may reuse is decided by :meth:`RecordStore.reusable` (the
fingerprint rule of :mod:`avatar_eval.results.resume`). Whole-file outputs go through
:func:`atomic_write_bytes` (temp + rename).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .schema import Record, record_key


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; results are for everyone to read
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _plain_details(o: object) -> object:
    """A record's free-form ``details`` as plain JSON: numpy scalars/arrays as Python numbers and
    lists, NaN / ±inf as ``null`` (JSON has no NaN). The record's own ``value`` is finite by the
    Record invariants and is not touched."""
    if isinstance(o, (np.generic, np.ndarray)):
        o = o.tolist()
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _plain_details(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain_details(v) for v in o]
    return o


def dumps_record(rec: Record) -> str:
    d = rec.to_dict()
    d["details"] = _plain_details(d["details"])
    return json.dumps(d, default=_json_default, allow_nan=False, sort_keys=True)


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """All complete records of a JSONL file (a torn last line is ignored)."""
    return list(_iter_records(Path(path))[0])


def _iter_records(path: Path) -> tuple[list[Record], int]:
    """(records, byte offset just after the last complete line)."""
    records: list[Record] = []
    good_end = 0
    if not path.exists():
        return records, 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl == -1:
            break  # torn last line: no newline
        line = data[pos:nl]
        pos = nl + 1
        if not line.strip():
            good_end = pos
            continue
        try:
            records.append(Record.from_dict(json.loads(line)))
        except (ValueError, TypeError):
            break  # a corrupt line can only be the torn tail; stop here
        good_end = pos
    return records, good_end


class RecordStore:
    """JSONL records of a run; the latest record of a key wins."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records, good_end = _iter_records(self.path)
        if self.path.exists() and good_end < self.path.stat().st_size:
            with open(self.path, "rb") as f:
                torn = f.read()[good_end:]
            with open(self.path.with_suffix(self.path.suffix + ".torn"), "ab") as f:
                f.write(torn + b"\n")
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        self._records: dict[str, Record] = {}
        for r in records:
            self._records[r.key] = r

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def has(self, model: str, sample_id: str, metric: str) -> bool:
        """A record of this key exists (whatever it was computed from): not a resume test, see
        :meth:`reusable`."""
        return record_key(model, sample_id, metric) in self._records

    def reusable(self, key: str, fingerprint: str, keep_errors: bool = False) -> bool:
        """May the stored record of ``key`` (:func:`~.schema.record_key`) be reused instead of a
        computation with this ``fingerprint``? The one resume rule: :func:`.resume.reusable`."""
        from .resume import reusable

        return reusable(self._records.get(key), fingerprint, keep_errors)

    def get(self, model: str, sample_id: str, metric: str) -> Record | None:
        return self._records.get(record_key(model, sample_id, metric))

    def records(self) -> list[Record]:
        return list(self._records.values())

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def append(self, rec: Record) -> None:
        self.extend([rec])

    def extend(self, recs: Iterable[Record]) -> None:
        recs = list(recs)
        lines = [dumps_record(r) + "\n" for r in recs]
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        for r in recs:
            self._records[r.key] = r
