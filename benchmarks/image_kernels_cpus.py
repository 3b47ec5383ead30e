"""The compiled SSIM / PSNR / cosine kernels give the same values on every CPU they compile for.

    python benchmarks/image_kernels_cpus.py [--cpus Haswell-v4 Westmere EPYC]

Runs a child natively and under ``qemu-x86_64 -cpu NAME`` for each ``--cpus`` entry (Debian's
qemu-user; each child has its own numba cache, so LLVM compiles for that CPU: AVX-512, AVX2 + FMA,
SSE4.2 only, Zen 1). Each child prints the CPU LLVM targets, whether the kernels passed their
self-check, whether they equal the numpy path on 16 (shape, window) cases, and a sha256 of the
values; the hashes must all be the same. Under emulation a child takes about 40 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, numpy as np
import llvmlite.binding as llvm
from avatar_eval.metrics.functional import image as IM
f = llvm.get_host_cpu_features()
agree = IM._kernels_agree()
rng = np.random.default_rng(2026)
h = hashlib.sha256()
ok = True
for shape in [(40, 57, 3), (90, 120, 3), (33, 64, 4), (25, 31, 2)]:
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, shape), 0, 255).astype(np.uint8)
    for win in (3, 5, 7, 9):
        sq = []
        k = IM._ssim_u8_compiled(a, b, win, 255.0, 0.01, 0.03, sq)
        ok = ok and np.array_equal(k, IM._ssim_u8(a, b, win, 255.0, 0.01, 0.03))
        h.update(k.tobytes()); h.update(str(sq).encode())
print(f"{llvm.get_host_cpu_name():12s} avx512f={f.get('avx512f')} avx2={f.get('avx2')} fma={f.get('fma')} "
      f"self-check={agree} kernel==numpy={ok} values={h.hexdigest()[:16]}")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", nargs="*", default=["Haswell-v4", "Westmere", "EPYC"])
    a = ap.parse_args()
    env0 = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    hashes = set()
    for cpu in [None, *a.cpus]:
        with tempfile.TemporaryDirectory() as cache:
            cmd = [sys.executable, "-c", CHILD]
            if cpu:
                cmd = ["qemu-x86_64", "-cpu", cpu, *cmd]
            r = subprocess.run(cmd, capture_output=True, text=True, env={**env0, "NUMBA_CACHE_DIR": cache})
            line = (r.stdout.strip().splitlines() or [r.stderr.strip()[-300:]])[-1]
            print(f"{cpu or 'native':12s} {line}", flush=True)
            hashes.add(line.rsplit("values=", 1)[-1])
    print("same values on every CPU:", len(hashes) == 1)


if __name__ == "__main__":
    main()
