"""Generator adapter: fill a command template (or call ``module:function``) per benchmark sample,
collect the outputs by sample id, validate them, and resume.

``avatar-eval generate --benchmark bench.jsonl --model mine="python infer.py --ref {reference_image}
--audio {audio} --out {output}" --out gens -j 2`` writes ``gens/mine/<sample id>.mp4``, a log per
sample (``gens/mine/logs/<sample id>.log``) and one status line per attempt in
``gens/mine/generate.jsonl``; ``avatar-eval run --manifest bench.jsonl --model mine=gens/mine`` then
evaluates them.

Template fields (each command-line token is formatted on its own; no shell is involved, so a path
with spaces stays one argument): ``{id} {reference_image} {audio} {transcript} {prompt} {gt} {fps}
{width} {height} {duration} {output} {log}``. ``fps``/``width``/``height``/``duration`` are the GT
video's (``duration``: the audio's when the sample has an audio file), or what ``--fps`` /
``--resolution`` ask for. A template naming a field the sample lacks fails that sample, with the
reason. A ``module:function`` entry point is called in a fresh Python process as
``function(**fields)`` (the same fields, ``output`` included).

The generator writes ``{output}``, a temporary path; the file is moved to ``<sample id>.mp4`` only
when the command succeeded, so a killed or failed generation leaves no half-written output.

Validation of each output (a mismatch makes the status ``invalid``; the file is kept and listed):
it decodes; its duration matches the requested one (± max(0.1 s, 2 frames)); its frame rate is
the requested one (± 1 %); it has an audio track when the sample has audio; its size is the
requested one when ``--resolution`` is given (otherwise a size different from the GT is a note:
paired metrics rescale).

Resume: a sample whose output exists and whose last status (``ok`` or ``invalid``) was made with
the same generator and the same inputs (sha256 fingerprint) is skipped; ``failed`` samples are
retried; ``overwrite=True`` regenerates everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..pipeline.manifest import Manifest, Sample, file_digest
from .baselines import BASELINES, build_baseline

__all__ = ["GenerationResult", "Generator", "generate", "parse_generator", "sample_fields"]

_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
STATUS_FILE = "generate.jsonl"


@dataclass(frozen=True)
class Generator:
    """One way of producing a model's outputs: a command template, an entry point or a baseline."""

    name: str
    command: str | None = None
    entry_point: str | None = None
    baseline: str | None = None

    @property
    def spec(self) -> str:
        return self.command or self.entry_point or f"baseline:{self.baseline}"


def parse_generator(text: str) -> Generator:
    """``NAME=COMMAND TEMPLATE``, ``NAME=module:function`` or ``NAME=baseline:KIND``."""
    if "=" not in text:
        raise InputError(f"--model takes NAME=COMMAND (or NAME=module:function), got {text!r}")
    name, spec = (x.strip() for x in text.split("=", 1))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or "") or name == "gt":
        raise InputError(f"model name {name!r}: use letters, digits, '_', '-', '.' ('gt' is reserved)")
    if spec.startswith("baseline:"):
        kind = spec.split(":", 1)[1]
        if kind not in BASELINES:
            raise InputError(f"unknown baseline {kind!r}; known: {', '.join(BASELINES)}")
        return Generator(name, baseline=kind)
    if _ENTRY.match(spec):
        return Generator(name, entry_point=spec)
    if not spec:
        raise InputError(f"model {name!r}: empty command")
    fields = {f for _, f, _, _ in string.Formatter().parse(spec) if f}
    if "output" not in fields:
        raise InputError(f"model {name!r}: the command template must write {{output}} (fields: {sorted(fields)})")
    return Generator(name, command=spec)


def sample_fields(sample: Sample, fps: float | None = None, resolution: tuple[int, int] | None = None) -> dict[str, Any]:
    """The template fields of one sample (None where the sample lacks it)."""
    from ..io.video import probe

    f: dict[str, Any] = {
        "id": sample.id, "reference_image": sample.reference_image, "audio": sample.audio,
        "transcript": sample.transcript, "prompt": sample.prompt or sample.transcript, "gt": sample.gt,
        "fps": None, "width": None, "height": None, "duration": None,
    }
    if sample.gt:
        info = probe(sample.gt)
        f.update(fps=info.fps, width=info.width, height=info.height, duration=info.duration)
    if sample.audio:
        from ..io.video import decode_audio

        wav, sr = decode_audio(sample.audio, 16000)
        f["duration"] = len(wav) / sr
    if fps:
        f["fps"] = float(fps)
    if resolution:
        f["width"], f["height"] = resolution
    return f


@dataclass
class GenerationResult:
    sample_id: str
    model: str
    status: str  # ok | invalid | failed | reused
    output: str | None = None
    reason: str = ""
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: int = 0
    elapsed_s: float = 0.0
    fingerprint: str = ""
    log: str | None = None


def _fingerprint(gen: Generator, fields: dict[str, Any]) -> str:
    payload = {"spec": gen.spec, "fields": {k: v for k, v in fields.items() if k not in ("output", "log")}}
    digests = {k: file_digest(v) for k in ("reference_image", "audio", "gt")
               if isinstance((v := fields.get(k)), str) and Path(v).is_file()}
    payload["digests"] = digests
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _format_args(template: str, fields: dict[str, Any]) -> list[str]:
    out = []
    for tok in shlex.split(template):
        names = [f for _, f, _, _ in string.Formatter().parse(tok) if f]
        missing = [n for n in names if n not in fields]
        if missing:
            raise InputError(f"unknown template field(s) {missing}; known: {sorted(fields)}")
        lacking = [n for n in names if fields[n] is None]
        if lacking:
            raise InputError(f"the sample has no {', '.join(lacking)} (the template uses it)")
        out.append(tok.format(**fields))
    return out


def validate_output(path: Path, fields: dict[str, Any], sample: Sample,
                    resolution: tuple[int, int] | None) -> tuple[list[str], list[str]]:
    """(mismatches, notes) of a generated file against what was requested."""
    from ..io.video import probe

    try:
        info = probe(path)
    except Exception as e:  # noqa: BLE001 - any decode failure is a mismatch to record
        return [f"does not decode: {e}"], []
    mism: list[str] = []
    notes: list[str] = []
    fps = fields.get("fps")
    if fps and abs(info.fps - fps) > 0.01 * fps:
        mism.append(f"fps {info.fps:.3f}, requested {fps:.3f}")
    dur = fields.get("duration")
    if dur:
        tol = max(0.1, 2.0 / (info.fps or 25.0))
        if abs(info.duration - dur) > tol:
            mism.append(f"duration {info.duration:.3f} s, requested {dur:.3f} s (± {tol:.2f} s)")
    has_audio = bool(sample.audio) or bool(sample.gt and probe(sample.gt).has_audio)
    if has_audio and not info.has_audio:
        mism.append("no audio track (the sample has audio)")
    if resolution and (info.width, info.height) != tuple(resolution):
        mism.append(f"size {info.width}×{info.height}, requested {resolution[0]}×{resolution[1]}")
    elif fields.get("width") and (info.width, info.height) != (fields["width"], fields["height"]):
        notes.append(f"size {info.width}×{info.height} differs from the GT's {fields['width']}×{fields['height']} "
                     "(paired metrics rescale)")
    return mism, notes


def _last_status(path: Path) -> dict[str, dict]:
    last: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue  # a torn last line of a killed run
            if isinstance(r, dict) and "sample_id" in r:
                last[str(r["sample_id"])] = r
    return last


def _run_one(gen: Generator, sample: Sample, samples: list[Sample], out_dir: Path, fields: dict[str, Any],
             timeout: float, retries: int, resolution: tuple[int, int] | None) -> GenerationResult:
    final = out_dir / f"{sample.id}.mp4"
    part = out_dir / ".partial" / f"{sample.id}.mp4"
    log = out_dir / "logs" / f"{sample.id}.log"
    part.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    fields = {**fields, "output": str(part), "log": str(log)}
    res = GenerationResult(sample.id, gen.name, "failed", log=str(log), fingerprint=_fingerprint(gen, fields))
    t0 = time.perf_counter()
    for attempt in range(1, retries + 2):
        res.attempts = attempt
        part.unlink(missing_ok=True)
        with open(log, "a") as lf:
            lf.write(f"--- attempt {attempt} {time.strftime('%Y-%m-%d %H:%M:%S')}: {gen.spec}\n")
            lf.flush()
            try:
                if gen.baseline:
                    build_baseline(gen.baseline, sample, part, samples)
                    rc = 0
                else:
                    if gen.command:
                        args = _format_args(gen.command, fields)
                    else:
                        mod, fn = gen.entry_point.split(":")  # type: ignore[union-attr]
                        code = (f"import importlib, json, sys; getattr(importlib.import_module({mod!r}), {fn!r})"
                                "(**json.loads(sys.argv[1]))")
                        args = [sys.executable, "-c", code, json.dumps(fields, default=str)]
                    lf.write("$ " + shlex.join(args) + "\n")
                    lf.flush()
                    rc = subprocess.run(args, stdout=lf, stderr=subprocess.STDOUT, timeout=timeout,
                                        stdin=subprocess.DEVNULL).returncode
            except subprocess.TimeoutExpired:
                res.reason = f"timed out after {timeout:g} s"
                lf.write(res.reason + "\n")
                continue
            except InputError as e:
                res.reason = str(e)
                lf.write(res.reason + "\n")
                break  # the same inputs will fail the same way
            except Exception as e:  # noqa: BLE001 - a generator's failure is this sample's status
                res.reason = f"{type(e).__name__}: {e}"
                lf.write(res.reason + "\n")
                continue
        if rc != 0:
            res.reason = f"exit status {rc} (see {log})"
            continue
        if not part.is_file() or part.stat().st_size == 0:
            res.reason = f"the generator exited 0 but wrote no {{output}} ({part})"
            continue
        os.replace(part, final)
        res.output = str(final)
        res.mismatches, res.notes = validate_output(final, fields, sample, resolution)
        res.status = "invalid" if res.mismatches else "ok"
        res.reason = "; ".join(res.mismatches)
        break
    res.elapsed_s = time.perf_counter() - t0
    return res


def generate(manifest: Manifest, generators: list[Generator], out_dir: str | Path, *, workers: int = 1,
             timeout: float = 3600.0, retries: int = 0, fps: float | None = None,
             resolution: tuple[int, int] | None = None, overwrite: bool = False,
             progress: Callable[[GenerationResult], None] | None = None) -> list[GenerationResult]:
    """Produce every generator's output for every sample into ``out_dir/<name>/``; see the module doc."""
    out_dir = Path(out_dir)
    results: list[GenerationResult] = []
    lock = threading.Lock()
    for gen in generators:
        gdir = out_dir / gen.name
        gdir.mkdir(parents=True, exist_ok=True)
        status_path = gdir / STATUS_FILE
        last = {} if overwrite else _last_status(status_path)
        todo: list[tuple[Sample, dict[str, Any]]] = []
        for s in manifest.samples:
            try:
                f = sample_fields(s, fps, resolution)
            except Exception as e:  # noqa: BLE001 - an unreadable input fails this sample only
                r = GenerationResult(s.id, gen.name, "failed", reason=f"reading the sample's inputs: {e}")
                results.append(r)
                _append(status_path, r, lock)
                continue
            prev = last.get(s.id)
            fp = _fingerprint(gen, {**f, "output": "", "log": ""})
            if (prev and prev.get("status") in ("ok", "invalid") and prev.get("fingerprint") == fp
                    and (gdir / f"{s.id}.mp4").is_file()):
                r = GenerationResult(s.id, gen.name, "reused", output=str(gdir / f"{s.id}.mp4"),
                                     reason=prev.get("reason", ""), mismatches=list(prev.get("mismatches") or []),
                                     fingerprint=fp)
                results.append(r)
                if progress:
                    progress(r)
                continue
            todo.append((s, f))

        def one(item: tuple[Sample, dict[str, Any]], gen: Generator = gen, gdir: Path = gdir,
                status_path: Path = status_path) -> GenerationResult:
            r = _run_one(gen, item[0], manifest.samples, gdir, item[1], timeout, retries, resolution)
            _append(status_path, r, lock)
            if progress:
                progress(r)
            return r

        if workers <= 1:
            results.extend(one(it) for it in todo)
        else:
            with ThreadPoolExecutor(max_workers=workers) as ex:
                results.extend(ex.map(one, todo))
    return results


def _append(path: Path, r: GenerationResult, lock: threading.Lock) -> None:
    line = json.dumps({**asdict(r), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}, default=str) + "\n"
    with lock, open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
