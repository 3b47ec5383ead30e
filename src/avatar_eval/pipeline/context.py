"""The per-clip context: one decode, lazily computed shared artifacts, cached errors."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..io.video import VideoInfo, iter_frames, probe
from .artifacts import FrameAnalyzer, get_spec


@dataclass
class _Failure:
    exc: BaseException


@dataclass(eq=False)  # identity semantics: contexts are used as (weak) dict keys
class ClipContext:
    """Everything known about one clip of one model (or of the GT).

    ``get(name)`` returns a shared artifact, computing it on first use. Frame artifacts are
    computed together in one decode pass by :meth:`prepare`; a frame artifact requested later
    costs a new pass, which ``decode_count`` makes visible (tests assert it stays 1).
    """

    video_path: str
    sample_id: str = ""
    model: str = ""
    audio_path: str | None = None
    reference_image: str | None = None
    transcript: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    decode_count: int = 0
    frames_decoded: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _info: VideoInfo | None = field(default=None, repr=False)

    # -- basic facts -------------------------------------------------------------------------
    @property
    def info(self) -> VideoInfo:
        if self._info is None:
            self._info = probe(self.video_path)
        return self._info

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def name(self) -> str:
        return Path(self.video_path).name

    # -- artifacts ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self._cache and not isinstance(self._cache[name], _Failure)

    def get(self, name: str) -> Any:
        if name not in self._cache:
            spec = get_spec(name)
            if spec.kind == "frame":
                self.prepare([name])
            else:
                t0 = time.perf_counter()
                try:
                    self._cache[name] = spec.factory(self)
                except Exception as e:  # cached so dependants fail fast with the same message
                    self._cache[name] = _Failure(e)
                self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        v = self._cache[name]
        if isinstance(v, _Failure):
            raise v.exc
        return v

    def prepare(self, names: Iterable[str]) -> None:
        """Compute every missing frame artifact in ``names`` in a single decode pass."""
        todo = [n for n in dict.fromkeys(names) if n not in self._cache and get_spec(n).kind == "frame"]
        if not todo:
            return
        analyzers: dict[str, FrameAnalyzer] = {}
        for n in todo:
            t0 = time.perf_counter()
            try:
                analyzers[n] = get_spec(n).factory(self)
            except Exception as e:
                self._cache[n] = _Failure(e)
            self.timings[n] = self.timings.get(n, 0.0) + time.perf_counter() - t0
        if not analyzers:
            return
        self.decode_count += 1
        failed: dict[str, BaseException] = {}
        t_dec = 0.0
        try:
            t0 = time.perf_counter()
            for frame in iter_frames(self.video_path):
                t1 = time.perf_counter()
                t_dec += t1 - t0
                self.frames_decoded += 1
                for n, a in analyzers.items():
                    if n in failed:
                        continue
                    ta = time.perf_counter()
                    try:
                        a.update(frame)
                    except Exception as e:
                        failed[n] = e
                    self.timings[n] = self.timings.get(n, 0.0) + time.perf_counter() - ta
                t0 = time.perf_counter()
        except InputError as e:
            for n in analyzers:
                failed.setdefault(n, e)
        finally:
            self.timings["decode"] = self.timings.get("decode", 0.0) + t_dec
        for n, a in analyzers.items():
            t0 = time.perf_counter()
            try:
                if n in failed:
                    self._cache[n] = _Failure(failed[n])
                else:
                    self._cache[n] = a.finalize()
            except Exception as e:
                self._cache[n] = _Failure(e)
            finally:
                try:
                    a.close()
                except Exception:  # noqa: BLE001 - closing must not hide the result
                    pass
            self.timings[n] = self.timings.get(n, 0.0) + time.perf_counter() - t0

    def release(self) -> None:
        """Drop cached artifacts (keeps nothing large alive between clips)."""
        self._cache.clear()


@dataclass(eq=False)
class PairContext:
    """A generated clip and the GT clip it is compared with (same sample id)."""

    gen: ClipContext
    gt: ClipContext
