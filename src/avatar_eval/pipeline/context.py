"""The per-clip context: one decode, lazily computed shared artifacts, cached errors."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io.video import VideoInfo, iter_frames_ahead, probe
from .artifacts import FrameAnalyzer, get_spec
from .heap import TRIM_EVERY, trim_heap

#: frames decoded ahead of the analyzers, in a second thread (io.video.iter_frames_ahead); 0: decode
#: in the analyzers' thread (environment: AVATAR_EVAL_DECODE_AHEAD). Same frames either way
#: (tests/pipeline/test_decode_ahead.py).
DECODE_AHEAD = int(os.environ.get("AVATAR_EVAL_DECODE_AHEAD", "2") or 2)


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
    #: seconds per stage (decode, each artifact, artifact store I/O), *exclusive*: an artifact
    #: computed while another is (VAD asking for the audio) is counted under its own name only
    timings: dict[str, float] = field(default_factory=dict)
    shared_artifacts: dict[str, str] = field(default_factory=dict)  # name -> artifact it shares
    artifact_dir: str | None = None  # the run's artifact store (pipeline/artifact_store.py); None: keep nothing
    artifacts_loaded: list[str] = field(default_factory=list)  # persisted artifacts this context loaded
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _share_keys: dict[Any, str] = field(default_factory=dict, repr=False)
    _info: VideoInfo | None = field(default=None, repr=False)
    _saved: set[str] = field(default_factory=set, repr=False)
    _child: list[float] = field(default_factory=list, repr=False)  # time of nested stages, per open stage

    # -- stage times (exclusive) -------------------------------------------------------------
    def add_time(self, name: str, dt: float) -> None:
        """Count ``dt`` seconds to ``name`` and, as nested time, to the stage open around it."""
        self.timings[name] = self.timings.get(name, 0.0) + dt
        if self._child:
            self._child[-1] += dt

    def timed(self, name: str, fn: Any) -> Any:
        """``fn()`` timed as stage ``name``, less the stages timed inside it."""
        self._child.append(0.0)
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            dt = time.perf_counter() - t0
            nested = self._child.pop()
            self.add_time(name, dt - nested)
            if self._child:
                self._child[-1] += nested

    @property
    def time_spent(self) -> float:
        """Seconds counted in ``timings`` so far (what a caller subtracts to time its own part)."""
        return sum(self.timings.values())

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
                try:
                    self._cache[name] = self.timed(name, lambda: spec.factory(self))
                except Exception as e:  # cached so dependants fail fast with the same message
                    self._cache[name] = _Failure(e)
        v = self._cache[name]
        if isinstance(v, _Failure):
            raise v.exc
        return v

    def artifact_workdir(self, name: str) -> str | None:
        """A folder in the run's artifact store for files a persisted artifact writes (crop videos),
        or None when this context keeps nothing (the artifact then uses a temporary folder)."""
        if self.artifact_dir is None:
            return None
        from .artifact_store import ArtifactStore

        return str(ArtifactStore(self.artifact_dir).workdir(self.video_path, name, self.options))

    def prepare(self, names: Iterable[str]) -> None:
        """Compute every missing frame artifact in ``names`` in a single decode pass (persisted
        artifacts of this clip already in the run's artifact store are loaded instead)."""
        names = list(dict.fromkeys(names))
        with persisted((self, names)):
            self._prepare(names)

    def _prepare(self, names: list[str]) -> None:
        todo = [n for n in dict.fromkeys(names)
                if n not in self._cache and n not in self.shared_artifacts and get_spec(n).kind == "frame"]
        if not todo:
            return
        analyzers: dict[str, FrameAnalyzer] = {}
        for n in todo:
            try:
                analyzers[n] = self.timed(n, lambda n=n: get_spec(n).factory(self))
            except Exception as e:
                self._cache[n] = _Failure(e)
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
            for frame in iter_frames_ahead(self.video_path, DECODE_AHEAD):
                t1 = time.perf_counter()
                t_dec += t1 - t0
                self.frames_decoded += 1
                if self.frames_decoded % TRIM_EVERY == 0:
                    trim_heap()
                for n, a in analyzers.items():
                    if n in failed:
                        continue
                    try:
                        self.timed(n, lambda a=a, f=frame: a.update(f))  # less a shared tracker's own stage
                    except Exception as e:
                        failed[n] = e
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
            self.add_time("decode", t_dec)
        for n, a in analyzers.items():
            def finish(n: str = n, a: FrameAnalyzer = a) -> None:
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

            self.timed(n, finish)
        self._finish_aliases(aliases, alias_objs, failed)
        trim_heap()  # the pass's freed frame buffers, kept by the C heap between the rows (pipeline/heap.py)

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

    # -- the run's artifact store (a clip tracked once per run) -----------------------------
    def _persistable(self, names: Iterable[str]) -> list[str]:
        if self.artifact_dir is None:
            return []
        out = []
        for n in dict.fromkeys(names):
            if n in self.shared_artifacts:
                continue
            spec = get_spec(n)
            if spec.kind == "frame" and spec.persist:
                out.append(n)
        return out

    def _load_persisted(self, names: list[str]) -> None:
        from .artifact_store import ArtifactStore, is_missing

        store = ArtifactStore(self.artifact_dir)  # type: ignore[arg-type]
        for n in names:
            if n in self._cache:
                continue
            t0 = time.perf_counter()
            entry = store.load(self.video_path, n, self.options)
            if not is_missing(entry):
                self._cache[n] = entry["value"]
                for k in entry.get("share_keys", ()):
                    self._share_keys.setdefault(k, n)
                self.artifacts_loaded.append(n)
            self.add_time("artifact_load", time.perf_counter() - t0)

    def _save_persisted(self, names: list[str]) -> None:
        from .artifact_store import ArtifactStore

        store = ArtifactStore(self.artifact_dir)  # type: ignore[arg-type]
        for n in names:
            v = self._cache.get(n)
            if v is None or isinstance(v, _Failure) or n in self.artifacts_loaded or n in self._saved:
                continue  # failures are not kept: a rerun tries again
            keys = [k for k, leader in self._share_keys.items() if leader == n]
            t0 = time.perf_counter()
            store.save(self.video_path, n, self.options, {"value": v, "share_keys": keys})
            self._saved.add(n)
            self.add_time("artifact_save", time.perf_counter() - t0)

    def feeder(self, names: Iterable[str]) -> "FrameFeeder":
        """A :class:`FrameFeeder` for those of ``names`` this context has not computed yet."""
        return FrameFeeder(self, list(names))

    def release(self) -> None:
        """Drop cached artifacts (keeps nothing large alive between clips)."""
        self._cache.clear()
        self._share_keys.clear()
        self.shared_artifacts.clear()


@contextlib.contextmanager
def persisted(*wanted: tuple[ClipContext, Iterable[str]]) -> Iterator[None]:
    """Load the persisted artifacts among ``names`` of each context from its run's artifact store;
    if any is still missing, hold the clips' locks while the body computes them, then save them.

    So a clip needed by several jobs at once (a GT clip paired with several models) is tracked by
    the first; the others wait for it and load. Contexts without a store are left alone."""
    todo: list[tuple[ClipContext, list[str]]] = []
    for ctx, names in wanted:
        p = ctx._persistable(names)
        if p:
            ctx._load_persisted(p)
            missing = [n for n in p if n not in ctx._cache]
            if missing:
                todo.append((ctx, missing))
    if not todo:
        yield
        return
    from .artifact_store import ArtifactStore

    store = ArtifactStore(todo[0][0].artifact_dir)  # type: ignore[arg-type]
    with store.lock([ctx.video_path for ctx, _ in todo]):
        for ctx, missing in todo:  # another job may have computed them while we waited
            ctx._load_persisted(missing)
        yield
        for ctx, missing in todo:
            ctx._save_persisted(missing)


class FrameFeeder:
    """Feeds a clip context's missing frame artifacts from frames decoded elsewhere (the pair
    pass's lockstep decode of GT and generated clip: still one decode per clip).
    Made by :meth:`ClipContext.feeder`; ``update(frame)`` per frame, then ``finalize()``."""

    def __init__(self, ctx: "ClipContext", names: list[str]):
        from .artifacts import get_spec

        self.ctx = ctx
        self._Failure = _Failure
        self.analyzers: dict[str, Any] = {}
        self.failed: dict[str, BaseException] = {}
        for n in [n for n in dict.fromkeys(names) if n not in ctx._cache]:
            try:
                self.analyzers[n] = ctx.timed(n, lambda n=n: get_spec(n).factory(ctx))
            except Exception as e:  # noqa: BLE001
                ctx._cache[n] = _Failure(e)
        if self.analyzers:
            ctx.decode_count += 1

    @property
    def active(self) -> bool:
        return bool(self.analyzers)

    def update(self, frame: Any) -> None:
        self.ctx.frames_decoded += 1
        for n, a in self.analyzers.items():
            if n in self.failed:
                continue
            try:
                self.ctx.timed(n, lambda a=a, f=frame: a.update(f))
            except Exception as e:  # noqa: BLE001
                self.failed[n] = e

    def fail_all(self, e: BaseException) -> None:
        for n in self.analyzers:
            self.failed.setdefault(n, e)

    def finalize(self) -> None:
        for n, a in self.analyzers.items():
            def finish(n: str = n, a: Any = a) -> None:
                try:
                    self.ctx._cache[n] = self._Failure(self.failed[n]) if n in self.failed else a.finalize()
                except Exception as e:  # noqa: BLE001
                    self.ctx._cache[n] = self._Failure(e)
                finally:
                    try:
                        a.close()
                    except Exception:  # noqa: BLE001
                        pass

            self.ctx.timed(n, finish)
        self.analyzers = {}
        trim_heap()


@dataclass(eq=False)
class PairContext:
    """A generated clip and the GT clip it is compared with (same sample id)."""

    gen: ClipContext
    gt: ClipContext
    #: pair artifacts by name (pipeline/pairs.py), and ``__stats__`` (pair decodes, stage times)
    cache: dict[str, Any] = field(default_factory=lambda: {"__stats__": {"pair_decodes": 0, "timings": {}}},
                                  repr=False)
