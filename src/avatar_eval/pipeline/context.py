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
    costs a new pass, which ``decode_count`` makes visible (tests assert it stays 1). Frame
    artifacts whose analyzers carry the same ``share_key`` are computed once and cached under
    every name (``shared_artifacts`` maps the others to the one computed).
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
    shared_artifacts: dict[str, str] = field(default_factory=dict)  # name -> artifact it shares
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _share_keys: dict[Any, str] = field(default_factory=dict, repr=False)
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
        if name not in self._cache and name in self.shared_artifacts:
            return self.has(self.shared_artifacts[name])
        return name in self._cache and not isinstance(self._cache[name], _Failure)

    def get(self, name: str) -> Any:
        if name not in self._cache and name in self.shared_artifacts:
            return self.get(self.shared_artifacts[name])
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
        todo = [n for n in dict.fromkeys(names)
                if n not in self._cache and n not in self.shared_artifacts and get_spec(n).kind == "frame"]
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
        # Analyzers with equal ``share_key`` compute the same thing on this clip (e.g. a compat Face
        # Mesh track on OpenCV pixels of an untagged clip, where they are PyAV's): one is fed (the
        # lowest ``share_priority``), the others are asked per frame whether the sharing still holds.
        # An analyzer may serve more keys than its own (``share_serves``: the default Face Mesh
        # track, which holds still frames, also carries the tracker's own rows, which a track with
        # the same settings and no hold is); its alias then takes ``alias.shared_value(value)``.
        leaders: dict[Any, str] = {}
        aliases: dict[str, str] = {}
        alias_objs: dict[str, FrameAnalyzer] = {}

        def serves(a: FrameAnalyzer) -> tuple:
            return tuple(getattr(a, "share_serves", None) or (getattr(a, "share_key", None),))

        order = sorted(analyzers, key=lambda n: (getattr(analyzers[n], "share_priority", 1),
                                                 -len(serves(analyzers[n]))))  # stable
        for n in order:
            a = analyzers[n]
            key = getattr(a, "share_key", None)
            if key is None:
                continue
            if key in leaders or key in self._share_keys:
                aliases[n] = leaders.get(key) or self._share_keys[key]
                alias_objs[n] = analyzers.pop(n)  # not fed; asked per frame whether sharing holds
            else:
                for k in serves(a):
                    leaders.setdefault(k, n)
        failed: dict[str, BaseException] = {}
        if not analyzers:  # everything asked for was computed by an earlier pass
            self._finish_aliases(aliases, alias_objs, failed)
            return
        self.decode_count += 1
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
                for n, a in alias_objs.items():
                    if n not in failed and not a.share_holds(frame):  # type: ignore[attr-defined]
                        failed[n] = RuntimeError(
                            f"{n}: frame {frame.index} breaks the sharing with {aliases[n]} decided from "
                            "the stream header (its colour tags differ); request this artifact on its own")
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
                    if getattr(a, "share_key", None) is not None:
                        for k in getattr(a, "share_serves", None) or (a.share_key,):
                            self._share_keys.setdefault(k, n)
            except Exception as e:
                self._cache[n] = _Failure(e)
            finally:
                try:
                    a.close()
                except Exception:  # noqa: BLE001 - closing must not hide the result
                    pass
            self.timings[n] = self.timings.get(n, 0.0) + time.perf_counter() - t0
        self._finish_aliases(aliases, alias_objs, failed)

    def _finish_aliases(self, aliases: dict[str, str], objs: dict[str, FrameAnalyzer],
                        failed: dict[str, BaseException]) -> None:
        for n, leader in aliases.items():
            if n in failed:
                self._cache[n] = _Failure(failed[n])
            else:
                self.shared_artifacts[n] = leader  # get(n) returns the leader's value ...
                derive = getattr(objs[n], "shared_value", None)
                lv = self._cache.get(leader)
                if derive is not None and lv is not None and not isinstance(lv, _Failure):
                    try:  # ... or what this analyzer makes of it (a failed leader fails it too)
                        self._cache[n] = derive(lv)
                    except Exception as e:  # noqa: BLE001
                        self._cache[n] = _Failure(e)
            try:
                objs[n].close()
            except Exception:  # noqa: BLE001
                pass

    def release(self) -> None:
        """Drop cached artifacts (keeps nothing large alive between clips)."""
        self._cache.clear()
        self._share_keys.clear()
        self.shared_artifacts.clear()


@dataclass(eq=False)
class PairContext:
    """A generated clip and the GT clip it is compared with (same sample id)."""

    gen: ClipContext
    gt: ClipContext
