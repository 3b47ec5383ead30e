"""Cross-CPU spread of the offline metrics: the same venv, natively and under ``qemu-x86_64 -cpu``.

Libraries that pick their SIMD kernels from CPUID at run time (MediaPipe's XNNPACK through
``cpuinfo``, CTranslate2's MKL/oneDNN choice, torch's ATen dispatch) give different floats on
different CPUs. ``qemu-x86_64 -cpu NAME`` (user-mode emulation) runs the very same binaries but
answers CPUID as the named CPU, so one machine can measure several kernel paths::

    # everything: native + EPYC, EPYC-Rome, Haswell-v4, Skylake-Client-v4 (about 2.5 h on 2 cores)
    python benchmarks/cpu_spread.py driver --out benchmarks/data/cpu_spread_shipped.json

    # quicker: first 25 frames of each clip, two CPUs
    python benchmarks/cpu_spread.py driver --cpus EPYC,Haswell-v4 --max-frames 25 --out /tmp/s.json

    # re-print the table of a saved result
    python benchmarks/cpu_spread.py table benchmarks/data/cpu_spread_shipped.json

    # one measurement in this process (what the driver runs under each CPU)
    python benchmarks/cpu_spread.py worker --label native --out /tmp/native.json
    python benchmarks/cpu_spread.py worker --asr-only --label native --out /tmp/asr.json

Modes:

* ``worker``: computes, in this process, every metric of ``--suites`` (default ``theval`` and
  ``theval-compat``) on the clips (default: ``examples/clips/{gt,audio_shift_0.5s,frozen}/*``)
  and, with ``--asr``/``--asr-only``, transcribes the ASR clips; writes one JSON file with
  ``{metric: {clip: value | null}}``, the reason of each null, the ASR results and the CPU facts
  it saw. Under qemu-user ``/proc/cpuinfo`` is the host's, so the CPU facts are read with the
  CPUID instruction itself (which qemu emulates, and which ``cpuinfo``/XNNPACK read too).
* ``driver``: runs the worker natively (twice: the second run is the run-to-run control) and
  under ``qemu-x86_64 -cpu NAME`` for each ``--cpus`` entry, one after another; ASR once per
  ``CT2_USE_MKL`` setting (unset, 0, 1) natively and, with ``--asr-qemu``, under each CPU.
  Saves everything in one JSON (``--out``) and prints the table.
* ``table``: prints the table of a saved driver JSON.

``--max-frames N`` measures on the first N frames: the driver writes truncated copies of the
clips once (video re-encoded losslessly, H.264 qp 0, so the N frames decode to the same pixels;
audio cut to the same length, re-encoded AAC) and every CPU reads those copies. Values are then
not comparable with full-clip values, only across CPUs; the table says so.

Spread of a (metric, clip) = (max - min) / |median| over the CPU paths that gave a value.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP_SETS = ("gt", "audio_shift_0.5s", "frozen")
VIDEO_EXT = (".mp4", ".mpg", ".mov", ".mkv", ".avi", ".webm")
DEFAULT_SUITES = "theval,theval-compat"
DEFAULT_CPUS = "EPYC,EPYC-Rome,Haswell-v4,Skylake-Client-v4"
ASR_CLIPS = ("tests/data/speech/synthetic/fr_espeak.wav", "tests/data/speech/synthetic/de_espeak.wav",
             "tests/data/speech/misc/jfk.flac")
CT2_SETTINGS = (None, "0", "1")  # CT2_USE_MKL unset, =0, =1
#: further driver results kept in the same JSON (benchmarks/data/cpu_spread_shipped.json)
SECTIONS = {
    "artifacts": "non-frame artifacts (decoded frames, audio, VAD, silent frames) per CPU path",
    "study_tflite_delegate": "MediaPipe InferenceCalculator forced to delegate { tflite {} } (no XNNPACK)",
    "doctor_32_frames": "every metric `avatar-eval doctor` checks, first 32 frames of each clip",
}
OFFICIAL_CSV = ROOT / "tests" / "data" / "theval" / "official_on_shipped.csv"
OFFICIAL_COLS = {"lip_dynamics": "theval.lip_dynamics.compat",
                 "eyebrow_dynamics": "theval.eyebrow_dynamics.compat",
                 "silent_lip_stability": "theval.silent_lip_stability.compat",
                 "lip_sync": "theval.lip_sync.compat"}
OFFICIAL_CLIPS = {"real3dportrait_May_5s": "gt/may.mp4", "retalking_face_5": "gt/face5.mp4",
                  "bbaf2n": "gt/grid_bbaf2n.mpg"}


# ---------------------------------------------------------------------------------------------
# CPU facts from the CPUID instruction (what qemu emulates and what cpuinfo / XNNPACK read)
# ---------------------------------------------------------------------------------------------
#   push rbx; mov eax,edi; mov ecx,esi; mov r8,rdx; cpuid;
#   mov [r8],eax; mov [r8+4],ebx; mov [r8+8],ecx; mov [r8+12],edx; pop rbx; ret
_CPUID_CODE = bytes.fromhex("53 89f8 89f1 4989d0 0fa2 418900 41895804 41894808 4189500c 5b c3"
                            .replace(" ", ""))


def _cpuid_reader():
    import ctypes
    import mmap

    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(_CPUID_CODE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))(addr)
    out = (ctypes.c_uint32 * 4)()

    def cpuid(leaf: int, sub: int = 0) -> tuple[int, int, int, int]:
        fn(leaf, sub, out)
        return out[0], out[1], out[2], out[3]

    return cpuid, buf  # keep buf alive while cpuid is used


def cpuid_facts() -> dict:
    """Vendor, brand, family/model and the SIMD flags as the CPUID instruction reports them."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return {"error": f"not x86-64 ({platform.machine()})"}
    try:
        cpuid, _keep = _cpuid_reader()
        a, b, c, d = cpuid(0)
        max_leaf = a
        vendor = b"".join(x.to_bytes(4, "little") for x in (b, d, c)).decode("ascii", "replace")
        a1, _, c1, d1 = cpuid(1)
        base_fam, base_mod, step = (a1 >> 8) & 0xF, (a1 >> 4) & 0xF, a1 & 0xF
        ext_fam, ext_mod = (a1 >> 20) & 0xFF, (a1 >> 16) & 0xF
        family = base_fam + ext_fam if base_fam == 0xF else base_fam
        model = (ext_mod << 4) + base_mod if base_fam in (0x6, 0xF) else base_mod
        b7 = c7 = d7 = a71 = 0
        if max_leaf >= 7:
            _, b7, c7, d7 = cpuid(7, 0)
            a71 = cpuid(7, 1)[0]
        ext_max = cpuid(0x80000000)[0]
        brand = ""
        if ext_max >= 0x80000004:
            regs = [r for leaf in (0x80000002, 0x80000003, 0x80000004) for r in cpuid(leaf)]
            brand = b"".join(r.to_bytes(4, "little") for r in regs).split(b"\0")[0].decode("ascii", "replace").strip()
        bits = {
            "sse4_1": (c1, 19), "sse4_2": (c1, 20), "fma": (c1, 12), "avx": (c1, 28), "f16c": (c1, 29),
            "avx2": (b7, 5), "avx512f": (b7, 16), "avx512dq": (b7, 17), "avx512bw": (b7, 30),
            "avx512vl": (b7, 31), "avx512_vnni": (c7, 11), "avx512_fp16": (d7, 23),
            "avx512_bf16": (a71, 5), "avx_vnni": (a71, 4), "amx_tile": (d7, 24),
        }
        flags = [k for k, (reg, bit) in bits.items() if (reg >> bit) & 1]
        return {"vendor": vendor, "brand": brand, "family": family, "model": model, "stepping": step,
                "family_hex": hex(family), "model_hex": hex(model), "isa": flags,
                "uarch_guess": _uarch_guess(vendor, family, model, flags)}
    except Exception as e:  # noqa: BLE001 - facts are best effort
        return {"error": f"{type(e).__name__}: {e}"}


def _uarch_guess(vendor: str, family: int, model: int, flags: list[str]) -> str:
    if vendor == "AuthenticAMD":
        if family == 0x17:  # cpuinfo's rule: extended model 0 or 1 is Zen/Zen+, 3/4/6/7/9 Zen 2
            return {0: "Zen/Zen+ (first generation)", 1: "Zen/Zen+ (first generation)"}.get(
                model >> 4, "Zen 2" if (model >> 4) in (3, 4, 6, 7, 9) else "AMD family 0x17, uarch unknown to cpuinfo")
        if family == 0x19:
            return "Zen 4" if "avx512f" in flags else "Zen 3"
        if family == 0x1A:
            return "Zen 5"
        return f"AMD family {family:#x}"
    if vendor == "GenuineIntel":
        return "Intel with AVX-512" if "avx512f" in flags else ("Intel AVX2" if "avx2" in flags else "Intel")
    return vendor


def _proc_cpuinfo_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


# ---------------------------------------------------------------------------------------------
# worker
# ---------------------------------------------------------------------------------------------
def default_clips() -> list[Path]:
    out: list[Path] = []
    for s in CLIP_SETS:
        out.extend(sorted(p for p in (ROOT / "examples" / "clips" / s).iterdir() if p.suffix in VIDEO_EXT))
    return out


def clip_key(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


def _env_facts(label: str) -> dict:
    facts = {"label": label, "cpuid": cpuid_facts(), "platform": platform.platform(),
             "platform_processor": platform.processor(),
             "proc_cpuinfo_model_name (host under qemu-user)": _proc_cpuinfo_model(),
             "python": sys.version.split()[0]}
    try:
        import torch

        facts["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception as e:  # noqa: BLE001
        facts["torch_cpu_capability"] = f"unknown ({type(e).__name__})"
    try:
        import avatar_eval

        facts["avatar_eval_path"] = str(Path(avatar_eval.__file__).parent)
    except Exception as e:  # noqa: BLE001
        facts["avatar_eval_path"] = f"unknown ({type(e).__name__})"
    env_keys = ("CT2_USE_MKL", "OMP_NUM_THREADS", "TFLITE_DISABLE_XNNPACK", "ATEN_CPU_CAPABILITY")
    facts["env"] = {k: os.environ[k] for k in env_keys if k in os.environ}
    try:
        from importlib.metadata import version

        facts["versions"] = {k: version(k) for k in ("mediapipe", "ctranslate2", "faster-whisper", "torch",
                                                      "numpy", "opencv-contrib-python", "silero-vad", "av")
                             if _has_dist(k)}
    except Exception:  # noqa: BLE001
        pass
    return facts


def _has_dist(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
        return True
    except PackageNotFoundError:
        return False


def patch_mediapipe_delegate(kind: str) -> int:
    """Make every MediaPipe legacy-solution graph built from now on in this process run its
    ``InferenceCalculator`` nodes with ``delegate { <kind> {} }`` (``tflite``: TFLite's built-in
    CPU kernels, no XNNPACK; ``xnnpack``: the shipped setting). The study option of this
    benchmark only; the package itself is not changed. Returns the number of graphs patched so far
    through a counter on the function."""
    from mediapipe.calculators.tensor import inference_calculator_pb2 as ic
    from mediapipe.python import solution_base

    orig = solution_base.SolutionBase._initialize_graph_interface
    Opts = ic.InferenceCalculatorOptions

    def set_delegate(o) -> None:
        o.delegate.Clear()
        getattr(o.delegate, kind).SetInParent()

    def patched(self, *a, **k):
        cfg = orig(self, *a, **k)
        for node in cfg.node:
            if not node.calculator.startswith("InferenceCalculator"):
                continue
            done = False
            for any_opt in node.node_options:
                if any_opt.type_url.endswith("/" + Opts.DESCRIPTOR.full_name):
                    o = Opts.FromString(any_opt.value)
                    set_delegate(o)
                    any_opt.value = o.SerializeToString()
                    done = True
            if not done:
                set_delegate(node.options.Extensions[Opts.ext])
            patch_mediapipe_delegate.nodes += 1
        return cfg

    solution_base.SolutionBase._initialize_graph_interface = patched
    return 0


patch_mediapipe_delegate.nodes = 0


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def run_metrics(clips: list[Path], suites: list[str], out: dict, out_path: Path) -> None:
    from avatar_eval.metrics.registry import get_metric, resolve_metrics
    from avatar_eval.pipeline.context import ClipContext

    names = resolve_metrics(suites)
    values = out.setdefault("values", {n: {} for n in names})
    status = out.setdefault("status", {n: {} for n in names})
    timing = out.setdefault("seconds_per_clip", {})
    for p in clips:
        key = clip_key(p)
        t0 = time.perf_counter()
        ctx = ClipContext(str(p))
        ms = {n: get_metric(n) for n in names}
        try:
            ctx.prepare([r for m in ms.values() for r in m.requires])
        except Exception as e:  # noqa: BLE001 - each metric reports its own failure below
            print(f"[{out['facts']['label']}] prepare {key}: {type(e).__name__}: {e}", file=sys.stderr)
        for n, m in ms.items():
            try:
                v = m.compute(ctx).value
                values[n][key] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                status[n][key] = "ok" if values[n][key] is not None else "nan"
            except Exception as e:  # noqa: BLE001 - skipped (weights), undefined, ...
                values[n][key] = None
                status[n][key] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        ctx.release()
        timing[key] = round(time.perf_counter() - t0, 2)
        print(f"[{out['facts']['label']}] {key}: {timing[key]:.1f} s", file=sys.stderr, flush=True)
        _write(out_path, out)


def _fingerprint(v):
    """JSON-able form of an artifact: arrays by sha256 + shape, segment lists as they are."""
    import hashlib

    import numpy as np

    if isinstance(v, np.ndarray):
        return {"sha256": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16],
                "shape": list(v.shape), "dtype": str(v.dtype)}
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], np.ndarray):  # (wav, sr)
        return {"audio": _fingerprint(v[0]), "sr": v[1]}
    if isinstance(v, (list, tuple)):
        return [_fingerprint(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return repr(v)[:200]


def run_artifacts(clips: list[Path], names: list[str], out: dict, out_path: Path) -> None:
    """Non-frame artifacts (VAD segments, silent frames, decoded audio) per clip, to see whether
    anything besides the landmarks moves with the CPU."""
    from avatar_eval.pipeline.context import ClipContext

    res = out.setdefault("artifacts", {})
    for p in clips:
        ctx = ClipContext(str(p))
        for n in names:
            try:
                if n == "frames":  # every decoded RGB frame (PyAV + swscale, which dispatch by CPU too)
                    import hashlib

                    from avatar_eval.io.video import iter_frames

                    h = hashlib.sha256()
                    k = 0
                    for f in iter_frames(p):
                        h.update(f.rgb.tobytes())
                        k += 1
                    res.setdefault(n, {})[clip_key(p)] = {"sha256": h.hexdigest()[:16], "n": k}
                    continue
                res.setdefault(n, {})[clip_key(p)] = _fingerprint(ctx.get(n))
            except Exception as e:  # noqa: BLE001
                res.setdefault(n, {})[clip_key(p)] = f"{type(e).__name__}: {str(e)[:100]}"
        ctx.release()
    _write(out_path, out)


def run_doctor(clips_root: Path, out: dict, out_path: Path) -> None:
    """Every offline metric ``avatar-eval doctor`` checks (clip and pair metrics, through the real
    runner, in this process: ``workers=1``; a spawned worker would escape qemu-user)."""
    import avatar_eval.results.store as store
    from avatar_eval.doctor import compute_values, offline_metrics

    # A record whose details hold a non-finite float (seen: blink.rate's mean_duration_s on the
    # frozen clips) makes the store's strict JSON writer raise and would end the whole run; here
    # such details are written as null instead, and counted.
    orig_dumps = store.dumps_record
    sanitized: list[str] = []

    def clean(o):
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    def dumps(rec):
        try:
            return orig_dumps(rec)
        except ValueError:
            d = rec.to_dict()
            sanitized.append(f"{d.get('metric')}|{d.get('model')}|{d.get('sample_id')}")
            return json.dumps(clean(d), default=store._json_default, allow_nan=False, sort_keys=True)

    store.dumps_record = dumps
    metrics = offline_metrics(False)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cpu_spread_doctor_") as tmp:
        got = compute_values(metrics, clips_root, Path(tmp), workers=1)
    values = out.setdefault("values", {})
    status = out.setdefault("status", {})
    for key in sorted(got):
        metric, model, sample = key.split("|")
        v = got[key]
        ck = f"{model}|{sample}"
        ok = isinstance(v, float) and not math.isnan(v)
        values.setdefault(metric, {})[ck] = v if ok else None
        status.setdefault(metric, {})[ck] = "ok" if ok else str(v)[:160]
    out["seconds_per_clip"] = {"doctor (all clips)": round(time.perf_counter() - t0, 2)}
    out["records_with_nonfinite_details_written_as_null"] = sanitized
    _write(out_path, out)


def run_asr(clips: list[Path], out: dict, out_path: Path) -> None:
    from avatar_eval.speech.asr import WhisperAsr

    asr = WhisperAsr(None, cpu_threads=2)
    res = out.setdefault("asr", {})
    for p in clips:
        t0 = time.perf_counter()
        tr = asr.transcribe(p)
        res[p.name] = {
            "text": tr.text, "avg_logprob": tr.avg_logprob,
            "max_compression_ratio": max((s.compression_ratio for s in tr.segments), default=None),
            "suspect_non_english": tr.suspect_non_english, "flags": tr.flags,
            "n_segments": len(tr.segments), "seconds": round(time.perf_counter() - t0, 2),
        }
        print(f"[{out['facts']['label']}] asr {p.name}: {res[p.name]['seconds']:.1f} s", file=sys.stderr, flush=True)
        _write(out_path, out)


def worker(args) -> None:
    os.environ.setdefault("AVATAR_EVAL_OFFLINE", "1")
    from avatar_eval.pipeline.runner import _worker_init

    _worker_init()  # one thread, quiet logs: as the runner's workers
    if args.mp_delegate != "default":
        patch_mediapipe_delegate(args.mp_delegate)
    out_path = Path(args.out)
    out: dict = {"facts": _env_facts(args.label), "max_frames": args.max_frames, "mp_delegate": args.mp_delegate}
    t0 = time.perf_counter()
    if args.artifacts:
        clips = [Path(c) for c in args.clips] if args.clips else default_clips()
        run_artifacts(clips, args.artifacts.split(","), out, out_path)
    elif args.doctor:
        run_doctor(Path(args.clips_root or ROOT / "examples" / "clips"), out, out_path)
    elif not args.asr_only:
        clips = [Path(c) for c in args.clips] if args.clips else default_clips()
        run_metrics(clips, args.suites.split(","), out, out_path)
    if args.asr or args.asr_only:
        run_asr([ROOT / c for c in ASR_CLIPS], out, out_path)
    out["seconds_total"] = round(time.perf_counter() - t0, 1)
    out["mp_inference_nodes_patched"] = patch_mediapipe_delegate.nodes
    _write(out_path, out)


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------
def truncate_clips(clips: list[Path], n: int, dest: Path) -> list[Path]:
    """First ``n`` frames of each clip, video losslessly re-encoded, audio cut to the same length."""
    from avatar_eval.io.video import probe

    out = []
    for p in clips:
        fps = probe(p).fps
        d = dest / p.parent.name
        d.mkdir(parents=True, exist_ok=True)
        q = d / (p.stem + ".mp4")  # keep the stem: clip keys stay recognisable
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(p), "-frames:v", str(n), "-t", f"{n / fps:.6f}",
                        "-c:v", "libx264", "-qp", "0", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "192k", str(q)], check=True)
        out.append(q)
    return out


def _ct2_lines(stderr: str) -> list[str]:
    keep = ("CPU:", "Selected ISA", "Use Intel MKL", "SGEMM backend", "GEMM_S16", "GEMM_S8")
    return [ln.rsplit("] ", 1)[-1].strip() for ln in stderr.splitlines() if any(k in ln for k in keep)]


def _run_worker(label: str, cpu: str | None, wargs: list[str], env_extra: dict, tmp: Path, log,
                timeout: float | None = None) -> dict | None:
    out = tmp / (re.sub(r"[^A-Za-z0-9_.-]+", "_", label) + ".json")
    cmd = [sys.executable, str(Path(__file__).resolve()), "worker", "--label", label, "--out", str(out), *wargs]
    if cpu:
        cmd = ["qemu-x86_64", "-cpu", cpu, *cmd]
    env = {**os.environ, "AVATAR_EVAL_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **env_extra}
    env = {k: v for k, v in env.items() if v is not None}  # None: unset
    t0 = time.perf_counter()
    print(f"--> {label}: {' '.join(cmd[:4]) if cpu else 'native'} ...", file=log, flush=True)
    try:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as e:  # killed: keep the clips the worker finished (written per clip)
        err = e.stderr or ""
        rc, stderr = f"timeout after {timeout:.0f} s", err.decode(errors="replace") if isinstance(err, bytes) else err
    wall = time.perf_counter() - t0
    if not out.exists():
        print(f"    FAILED rc={rc}\n{stderr[-3000:]}", file=log, flush=True)
        return None
    res = json.loads(out.read_text())
    res["wall_seconds"] = round(wall, 1)
    res["returncode"] = rc
    res["qemu_cpu"] = cpu
    ct2 = _ct2_lines(stderr)
    if ct2:
        res["ct2_verbose"] = ct2
    if rc != 0:
        res["stderr_tail"] = stderr[-2000:]
    print(f"    done in {wall:.0f} s (rc={rc})", file=log, flush=True)
    return res


def driver(args) -> None:
    cpus = [c for c in args.cpus.split(",") if c]
    if cpus and not shutil.which("qemu-x86_64"):
        sys.exit("qemu-x86_64 not found (Debian: apt-get install qemu-user)")
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"created": time.strftime("%Y-%m-%d %H:%M:%S"), "host_cpuid": cpuid_facts(),
                    "host_model_name": _proc_cpuinfo_model(), "suites": args.suites,
                    "max_frames": args.max_frames, "metrics": {}, "asr": {}}
    if out_path.exists() and args.resume:
        result = json.loads(out_path.read_text())
    log = sys.stderr
    with tempfile.TemporaryDirectory(prefix="cpu_spread_") as tmpd:
        tmp = Path(tmpd)
        clips = [Path(c) for c in args.clips] if args.clips else default_clips()
        if args.max_frames:
            clips = truncate_clips(clips, args.max_frames, tmp / "clips")
        if args.artifacts:
            wargs = ["--artifacts", args.artifacts, "--clips", *map(str, clips)]
            result["suites"] = f"artifacts {args.artifacts}"
        elif args.doctor:
            root = tmp / "clips" if args.max_frames else ROOT / "examples" / "clips"
            wargs = ["--doctor", "--clips-root", str(root), "--mp-delegate", args.mp_delegate]
            result["suites"] = "avatar-eval doctor's offline metrics"
        else:
            wargs = ["--suites", args.suites, "--mp-delegate", args.mp_delegate, "--clips", *map(str, clips)]
        result["mp_delegate"] = args.mp_delegate
        if args.max_frames:
            wargs += ["--max-frames", str(args.max_frames)]
        extra_env = dict(kv.split("=", 1) for kv in args.env)
        result["extra_env"] = extra_env
        if args.snapshot_src:
            # other people may edit the source tree during a long run: every worker imports one copy
            snap = tmp / "src"
            shutil.copytree(ROOT / "src", snap, ignore=shutil.ignore_patterns("__pycache__"))
            extra_env["PYTHONPATH"] = str(snap)
            result["source_snapshot"] = f"copy of src/ taken {time.strftime('%H:%M:%S')}"
        runs: list[tuple[str, str | None]] = []
        if not args.no_metrics:
            if not args.no_native:
                runs += [("native", None)]
            runs += [(f"qemu {c}", c) for c in cpus]
            if not args.no_native and not args.no_repeat:
                runs += [("native (repeat)", None)]  # last: run-to-run and drift control
        for label, cpu in runs:
            if label in result["metrics"] and args.resume:
                continue
            res = _run_worker(label, cpu, wargs, extra_env, tmp, log, args.worker_timeout)
            if res is not None:
                result["metrics"][label] = res
                _write(out_path, result)
        if args.asr != "none":
            asr_runs = [("native", None)] if not args.no_native else []
            if args.asr == "all":
                asr_cpus = cpus if args.asr_cpus is None else [c for c in args.asr_cpus.split(",") if c]
                asr_runs += [(f"qemu {c}", c) for c in asr_cpus]
            for base, cpu in asr_runs:
                for setting in CT2_SETTINGS:
                    label = f"{base} CT2_USE_MKL={'unset' if setting is None else setting}"
                    if label in result["asr"] and args.resume:
                        continue
                    res = _run_worker(label, cpu, ["--asr-only"], {"CT2_USE_MKL": setting, "CT2_VERBOSE": "1"},
                                      tmp, log)
                    if res is not None:
                        result["asr"][label] = res
                        _write(out_path, result)
    print_table(result)


# ---------------------------------------------------------------------------------------------
# table
# ---------------------------------------------------------------------------------------------
def _rel_spread(vals: list[float]) -> float:
    if len(vals) < 2:
        return float("nan")
    med = statistics.median(vals)
    rng = max(vals) - min(vals)
    if rng == 0:
        return 0.0
    return rng / abs(med) if med else float("inf")


def _groups(labels: list[str], key) -> list[list[str]]:
    groups: dict = {}
    for lb in labels:
        groups.setdefault(key(lb), []).append(lb)
    return list(groups.values())


def _short(label: str) -> str:
    return label.replace("qemu ", "").replace("native (repeat)", "native#2")


def spread_summary(result: dict) -> dict:
    """{metric: {"max": spread, "worst_clip": clip, "per_clip": {clip: spread}, "groups": [...]}}"""
    runs = result["metrics"]
    labels = list(runs)
    metrics = list(next(iter(runs.values()))["values"]) if runs else []
    summary = {}
    for m in metrics:
        clips = list(next(iter(runs.values()))["values"][m])
        per_clip, absd = {}, {}
        for c in clips:
            vals = [runs[lb]["values"][m].get(c) for lb in labels]
            got = [v for v in vals if v is not None]
            if len(got) >= 2:
                per_clip[c] = _rel_spread(got)
                absd[c] = max(got) - min(got)
        if not per_clip:
            some = any(v is not None for lb in labels for v in runs[lb]["values"][m].values())
            st = "; ".join(sorted({s for lb in labels for s in runs[lb]["status"][m].values()}))
            summary[m] = {"max": None, "status": "fewer than two CPU paths" if some else st}
            continue
        worst = max(per_clip, key=lambda c: per_clip[c])
        groups = _groups(labels, lambda lb: tuple(runs[lb]["values"][m].get(c) for c in clips))
        summary[m] = {"max": per_clip[worst], "worst_clip": worst, "per_clip": per_clip, "abs": absd,
                      "groups": groups}
    return summary


_DOCTOR_MODELS = {"gt": "gt", "audio_shift_0.5s": "shifted", "frozen": "frozen"}


def _doctor_key(metric: str, clip: str) -> str | None:
    """``gt/may.mp4`` -> ``metric|gt|may`` (the doctor's key); ``None`` for other clip names."""
    folder, _, name = clip.partition("/")
    if "|" in clip:  # --doctor runs are keyed model|sample already
        return f"{metric}|{clip}"
    model = _DOCTOR_MODELS.get(folder)
    return f"{metric}|{model}|{Path(name).stem}" if model else None


def _doctor_check(runs: dict, summ: dict) -> None:
    """Would ``avatar-eval doctor``'s own comparison (``avatar_eval.doctor.compare``, tolerances and
    frozen-clip rules as they are in this checkout) pass between every ordered pair of measured CPU
    paths, one taken as the expected values and the other as the new ones?"""
    try:
        from avatar_eval.doctor import compare
    except Exception:  # noqa: BLE001 - a checkout without the doctor
        return
    labels = list(runs)
    vals = {}
    for lb in labels:
        d = {}
        for m, per in runs[lb]["values"].items():
            for c, v in per.items():
                k = _doctor_key(m, c)
                if k is not None and v is not None:
                    d[k] = float(v)
        vals[lb] = d
    fails: dict[str, list[str]] = {}
    for a in labels:
        for b in labels:
            if a == b:
                continue
            checks, _ = compare(vals[a], vals[b])
            for ch in checks:
                if not ch.passed:
                    fails.setdefault(ch.metric, []).append(
                        f"{ch.model}|{ch.sample} expected({_short(a)})={ch.expected:.6g} got({_short(b)})={ch.got:.6g}")
    print("\n=== avatar-eval doctor's comparison (this checkout's tolerances) between every pair of CPU paths")
    for m, s in summ.items():
        if s["max"] is None:
            continue
        f = fails.get(m, [])
        print(f"{m:36s} " + ("passes" if not f else f"FAILS {len(f)} pair(s), e.g. " + "; ".join(f[:2])))


def print_table(result: dict) -> None:
    runs = result.get("metrics", {})
    if runs and any("artifacts" in r for r in runs.values()):
        labels = list(runs)
        print(f"\n=== artifacts: groups of CPU paths with identical values ({result.get('suites')})")
        first = runs[labels[0]]["artifacts"]
        for n in first:
            for c in first[n]:
                g = _groups(labels, lambda lb: json.dumps(runs[lb]["artifacts"][n].get(c)))
                print(f"  {n:28s} {c:34s} " + " | ".join("{" + ", ".join(_short(x) for x in gg) + "}" for gg in g))
        runs = {}
    if runs:
        labels = list(runs)
        mf = result.get("max_frames")
        print(f"\n=== metrics ({f'first {mf} frames of each clip' if mf else 'whole clips'}); "
              f"suites {result.get('suites')}; host CPU {result.get('host_model_name')}")
        for lb in labels:
            f = runs[lb]["facts"]["cpuid"]
            print(f"  {lb:24s} CPUID: {f.get('vendor')} {f.get('brand')!r} fam {f.get('family_hex')} model "
                  f"{f.get('model_hex')} [{f.get('uarch_guess')}] isa={','.join(f.get('isa', []))}; "
                  f"torch {runs[lb]['facts'].get('torch_cpu_capability')}; wall {runs[lb].get('wall_seconds')} s")
        summ = spread_summary(result)
        short = [_short(lb) for lb in labels]
        w = 15
        print("\n" + f"{'metric / clip':52s}" + "".join(f"{s[:w]:>{w + 1}s}" for s in short)
              + f"{'spread':>10s}{'max-min':>12s}")
        for m, s in summ.items():
            if s["max"] is None and s["status"] != "fewer than two CPU paths":
                print(f"{m:52s} no value on any path ({s['status'][:70]})")
                continue
            print(f"{m}")
            for c in runs[labels[0]]["values"][m]:
                vals = [runs[lb]["values"][m].get(c) for lb in labels]
                cells = "".join(f"{(f'{v:.9g}') if v is not None else '-':>{w + 1}s}" for v in vals)
                sp = s.get("per_clip", {}).get(c)
                got = [v for v in vals if v is not None]
                rng = f"{max(got) - min(got):12.3g}" if len(got) >= 2 else f"{'-':>12s}"
                print(f"  {c:50s}{cells}{(f'{100 * sp:9.3f}%' if sp is not None else '         -'):>10s}{rng}")
        print("\n=== summary: max relative spread (max-min)/|median| over CPU paths on the clips with real motion "
              "(everything but frozen/), worst clip; the same on frozen/ (values are tracker jitter, near 0); "
              "largest absolute max-min; bit-identical groups")
        print(f"{'metric':36s} {'real clips':>10s}  {'worst clip':32s} {'frozen/':>9s} {'max |Δ|':>10s}  groups")
        for m, s in summ.items():
            if s["max"] is None:
                continue
            real = {c: v for c, v in s["per_clip"].items() if not c.startswith("frozen/")}
            froz = {c: v for c, v in s["per_clip"].items() if c.startswith("frozen/")}
            wr = max(real, key=real.get) if real else "-"
            groups = " | ".join("{" + ", ".join(_short(x) for x in g) + "}" for g in s["groups"])
            absmax = max(s["abs"].values()) if s.get("abs") else float("nan")
            rtxt = f"{100 * real[wr]:9.3f}%" if real else f"{'-':>10s}"
            ftxt = f"{100 * max(froz.values()):8.2f}%" if froz else f"{'-':>9s}"
            print(f"{m:36s} {rtxt}  {wr:32s} {ftxt} {absmax:10.3g}  {groups}")
        _doctor_check(runs, summ)
        # whole-run bit-for-bit agreement over all metric values
        allkey = lambda lb: tuple((m, c, v) for m, d in runs[lb]["values"].items() for c, v in sorted(d.items()))
        print("\nbit-identical over every metric and clip: "
              + " | ".join("{" + ", ".join(_short(x) for x in g) + "}" for g in _groups(labels, allkey)))
        if not result.get("max_frames") and OFFICIAL_CSV.exists() and "doctor" not in str(result.get("suites")):
            import csv

            print("\n=== compat metrics vs the official THEval values (tests/data/theval/official_on_shipped.csv), "
                  "relative difference")
            rows = list(csv.DictReader(open(OFFICIAL_CSV)))
            print(f"{'metric':36s}{'clip':22s}" + "".join(f"{s[:w]:>{w + 1}s}" for s in short))
            for row in rows:
                clip = next(v for k, v in OFFICIAL_CLIPS.items() if k in row["video_path"])
                for col, m in OFFICIAL_COLS.items():
                    ref = float(row[col])
                    cells = ""
                    for lb in labels:
                        v = runs[lb]["values"].get(m, {}).get(clip)
                        cells += f"{('%+.3f%%' % (100 * (v - ref) / ref)) if v is not None else '-':>{w + 1}s}"
                    print(f"{m:36s}{clip:22s}{cells}")
    asr = result.get("asr", {})
    if asr:
        print("\n=== ASR (tiny.en, int8, beam 5) per path")
        for lb, r in asr.items():
            print(f"{lb}: wall {r.get('wall_seconds')} s; CTranslate2: {'; '.join(r.get('ct2_verbose', [])) or '?'}")
            for name, a in r.get("asr", {}).items():
                lp = a["avg_logprob"]
                print(f"    {name:16s} logprob {lp if lp is None else round(lp, 4)!s:>8s}  max CR "
                      f"{a['max_compression_ratio'] if a['max_compression_ratio'] is None else round(a['max_compression_ratio'], 3)!s:>7s}"
                      f"  suspect_non_english={a['suspect_non_english']!s:5s}  {a['text'][:90]!r}")
        groups = _groups(list(asr), lambda lb: json.dumps({k: (v["text"], v["avg_logprob"]) for k, v in asr[lb].get("asr", {}).items()}))
        print("identical ASR output (text and logprob): " + " | ".join("{" + ", ".join(g) + "}" for g in groups))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("worker", help="measure in this process")
    w.add_argument("--label", default="native")
    w.add_argument("--out", required=True)
    w.add_argument("--suites", default=DEFAULT_SUITES)
    w.add_argument("--clips", nargs="*", help="video files (default: the shipped clip sets)")
    w.add_argument("--max-frames", type=int, default=None, help="recorded only (the driver truncates the clips)")
    w.add_argument("--asr", action="store_true", help="also transcribe the ASR clips")
    w.add_argument("--mp-delegate", choices=("default", "tflite", "xnnpack"), default="default",
                   help="study: force MediaPipe's InferenceCalculator delegate (tflite = no XNNPACK)")
    w.add_argument("--asr-only", action="store_true")
    w.add_argument("--doctor", action="store_true", help="instead of --suites: every metric `avatar-eval doctor` "
                   "checks (pair metrics included) on --clips-root (gt/, audio_shift_0.5s/, frozen/)")
    w.add_argument("--clips-root", default=None)
    w.add_argument("--artifacts", default=None, help="instead of metrics: fingerprints of these non-frame "
                   "artifacts per clip (e.g. frames,audio16k,vad,vad.theval_sync,theval.silent_frames_compat; frames = hash of all decoded frames)")
    d = sub.add_parser("driver", help="run the worker natively and under qemu-x86_64 -cpu NAME")
    d.add_argument("--out", default=str(ROOT / "benchmarks" / "data" / "cpu_spread_shipped.json"))
    d.add_argument("--cpus", default=DEFAULT_CPUS, help=f"qemu -cpu names, comma-separated (default {DEFAULT_CPUS}; "
                   "'' for native only; `qemu-x86_64 -cpu help` lists them)")
    d.add_argument("--suites", default=DEFAULT_SUITES)
    d.add_argument("--clips", nargs="*")
    d.add_argument("--max-frames", type=int, default=None, help="measure on the first N frames of each clip")
    d.add_argument("--asr", choices=("native", "all", "none"), default="native",
                   help="ASR per CT2_USE_MKL setting: natively only (default), also under every qemu CPU, or not")
    d.add_argument("--asr-cpus", default=None, help="qemu CPUs for --asr all (default: --cpus); one CPU and "
                   "CT2 setting takes about 7 min under qemu")
    d.add_argument("--no-native", action="store_true")
    d.add_argument("--no-repeat", action="store_true", help="skip the native run-to-run control")
    d.add_argument("--no-metrics", action="store_true", help="ASR only")
    d.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the metric workers (e.g. a kernel-path setting under study)")
    d.add_argument("--artifacts", default=None, help="instead of metrics: compare these non-frame artifacts "
                   "(e.g. audio16k,audio44k.moviepy,vad,vad.theval_sync,theval.silent_frames_compat)")
    d.add_argument("--doctor", action="store_true", help="measure every metric `avatar-eval doctor` checks "
                   "(clip and pair metrics, ASR of speech.wer included) instead of --suites")
    d.add_argument("--mp-delegate", choices=("default", "tflite", "xnnpack"), default="default",
                   help="study: force MediaPipe's InferenceCalculator delegate in the metric workers "
                   "(tflite = TFLite built-in kernels, no XNNPACK)")
    d.add_argument("--snapshot-src", action="store_true", help="run every worker on one copy of src/ "
                   "(PYTHONPATH), so that edits made to the tree during a long run cannot leak in")
    d.add_argument("--resume", action="store_true", help="keep the runs already in --out, run the missing ones")
    d.add_argument("--worker-timeout", type=float, default=None, metavar="S",
                   help="kill a metric worker after S seconds and keep the clips it finished (the worker "
                   "saves after each clip; the rest stay missing). MediaPipe Pose + Hands under qemu take "
                   "minutes per frame")
    t = sub.add_parser("table", help="print the table of a saved driver JSON")
    t.add_argument("path")
    args = ap.parse_args(argv)
    if args.mode == "worker":
        worker(args)
    elif args.mode == "driver":
        driver(args)
    else:
        res = json.loads(Path(args.path).read_text())
        print_table(res)
        for key, title in SECTIONS.items():  # further measurements stored beside the main one
            if key in res:
                print(f"\n\n######## {key}: {title}")
                print_table(res[key])


if __name__ == "__main__":
    main()
