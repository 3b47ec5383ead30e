"""What can move a number is recorded: CPU class, kernel paths, thread counts, versions."""

from __future__ import annotations

import json

from avatar_eval import provenance as P

AVX2 = {"sse4_1", "avx", "fma", "avx2"}
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512vl"}


def test_kernel_path_separates_the_cpu_classes_that_get_different_floats():
    # first-generation Zen / Zen+ (family 0x17, model < 0x30): XNNPACK's own class
    assert P.kernel_path("AuthenticAMD", "23", "1", AVX2) == "avx2-zen1"
    assert P.kernel_path("AuthenticAMD", "23", "8", AVX2) == "avx2-zen1"
    assert P.kernel_path("HygonGenuine", "24", "0", AVX2) == "avx2-zen1"  # Dhyana: cpuinfo's zen class
    # extended model 2 (0x20-0x2F, e.g. Dali) is "unknown" to cpuinfo: the default FMA3 kernels
    assert P.kernel_path("AuthenticAMD", "23", "32", AVX2) == "avx2-amd"
    # Zen 2 (family 0x17, model 0x31) and Zen 4 (family 0x19) are ordinary AVX2 / AVX-512 CPUs
    assert P.kernel_path("AuthenticAMD", "23", "49", AVX2) == "avx2-amd"
    assert P.kernel_path("AuthenticAMD", "25", "17", AVX512) == "avx512-amd"
    assert P.kernel_path("GenuineIntel", "6", "85", AVX512) == "avx512-intel"
    assert P.kernel_path("GenuineIntel", "6", "60", AVX2) == "avx2-intel"


def test_ctranslate2_backend_follows_vendor_and_override(monkeypatch):
    monkeypatch.delenv("CT2_USE_MKL", raising=False)
    assert P.ctranslate2_backend("GenuineIntel") == "mkl"
    assert P.ctranslate2_backend("AuthenticAMD") == "onednn"
    monkeypatch.setenv("CT2_USE_MKL", "1")
    assert P.ctranslate2_backend("AuthenticAMD").startswith("mkl")
    monkeypatch.setenv("CT2_USE_MKL", "0")
    assert P.ctranslate2_backend("GenuineIntel").startswith("onednn")


def test_numeric_environment_names_cpu_kernels_threads_and_versions(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = P.numeric_environment()
    json.dumps(env)  # run.json must be able to hold it
    assert env["cpu"]["kernel_path"] and env["cpu"]["logical_cpus"] >= 1
    assert env["env"]["OMP_NUM_THREADS"] == "3"
    assert env["kernels"]["ctranslate2"] in ("mkl", "onednn") or "CT2_USE_MKL" in env["kernels"]["ctranslate2"]
    assert isinstance(env["kernels"]["torch"]["intra_op_threads"], int)
    for pkg in ("mediapipe", "av", "torch", "numpy", "ctranslate2", "onnxruntime", "silero-vad"):
        assert env["packages"][pkg] != "not installed", pkg
    assert "libswscale" in env["decoders"]["pyav_libraries"]
    assert "resample_poly" in env["audio_resampler"]
    line = P.environment_summary(env)
    assert env["cpu"]["kernel_path"] in line and "CTranslate2" in line


def test_torch_facts_are_not_imported_on_request_and_come_from_the_jobs(tmp_path):
    """The runner's main process does not import torch (seconds) to describe it: run.json's torch
    facts are those the jobs report from the processes that ran the metrics."""
    import subprocess
    import sys

    code = ("import sys, json; from avatar_eval.provenance import numeric_environment, torch_facts_if_loaded; "
            "e = numeric_environment(import_torch=False); "
            "print(json.dumps([e['kernels']['torch'], 'torch' in sys.modules, torch_facts_if_loaded()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    facts, imported, job_facts = json.loads(out.strip().splitlines()[-1])
    assert facts == {"loaded": False} and imported is False and job_facts is None
    import torch  # noqa: F401 - now loaded in this process: the facts are free

    got = P.torch_facts_if_loaded()
    assert isinstance(got["intra_op_threads"], int) and "cpu_capability" in got
