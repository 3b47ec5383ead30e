"""Find a weight on disk, or fetch it: explicit path > per-file env var > weights dir > cache >
installed package payload > download (unless offline).

Environment:
    ``AVATAR_EVAL_W_<NAME>``     path of that one weight (see ``WeightSpec.env_var``)
    ``AVATAR_EVAL_WEIGHTS_DIR``  a directory holding weights under their catalogue file names
    ``AVATAR_EVAL_CACHE``        the download cache (default ``~/.cache/avatar-eval/weights``)
    ``AVATAR_EVAL_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``: never download
    ``AVATAR_EVAL_PACKAGE_WEIGHTS=0``  ignore payloads of installed carrier packages
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import WeightsUnavailable
from .download import (
    ChecksumMismatch,
    DownloadError,
    Progress,
    fetch_dir,
    fetch_file,
    missing_files,
)
from .hashing import cached_sha256, record_sha256, tree_sha256
from .spec import CARRIERS_INSTALL, WeightSpec, get_weight_spec

WEIGHTS_DIR_ENV = "AVATAR_EVAL_WEIGHTS_DIR"
CACHE_ENV = "AVATAR_EVAL_CACHE"
OFFLINE_ENV = "AVATAR_EVAL_OFFLINE"
PACKAGE_WEIGHTS_ENV = "AVATAR_EVAL_PACKAGE_WEIGHTS"
HF_OFFLINE_ENV = "HF_HUB_OFFLINE"
DEFAULT_CACHE = Path("~/.cache/avatar-eval/weights")

_TRUE = {"1", "true", "yes", "on"}


def cache_dir() -> Path:
    """Download cache directory (``$AVATAR_EVAL_CACHE`` or ``~/.cache/avatar-eval/weights``)."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def hash_index_dir() -> Path:
    """Where sha256 results are cached (keyed by path, size and mtime)."""
    return cache_dir() / ".sha256"


def offline_reason() -> str | None:
    """The environment variable that makes the toolkit offline, or ``None``."""
    for var in (OFFLINE_ENV, HF_OFFLINE_ENV):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return f"${var}={os.environ[var]}"
    return None


def is_offline() -> bool:
    return offline_reason() is not None


def package_weights_disabled() -> str | None:
    """``$AVATAR_EVAL_PACKAGE_WEIGHTS=0`` (or false/no/off): the reason, else ``None``."""
    v = os.environ.get(PACKAGE_WEIGHTS_ENV, "").strip().lower()
    if v in {"0", "false", "no", "off"}:
        return f"${PACKAGE_WEIGHTS_ENV}={os.environ[PACKAGE_WEIGHTS_ENV]}"
    return None


@dataclass(frozen=True)
class Location:
    """Where a weight was found on disk (no hashing involved)."""

    path: Path
    # "explicit path", "$AVATAR_EVAL_W_X", "$AVATAR_EVAL_WEIGHTS_DIR", "cache",
    # "package <dist> <version>"
    origin: str


PACKAGE_ORIGIN = "package "


def package_payload(spec: WeightSpec) -> tuple[Path | None, str]:
    """Where the installed carrier package holds ``spec``'s payload: ``(path, origin)``, or
    ``(None, why not)``. No hashing here; :func:`check_file` enforces the sha256."""
    if not spec.package or not spec.package_path:
        return None, "no carrier package"
    off = package_weights_disabled()
    if off is not None:
        return None, f"not looked at ({off})"
    try:
        dist = metadata.distribution(spec.package)
    except metadata.PackageNotFoundError:
        return None, "not installed"
    p = Path(str(dist.locate_file(spec.package_path)))
    if not p.is_file():
        return None, f"{dist.version} is installed but has no {spec.package_path} ({p})"
    return p, f"{PACKAGE_ORIGIN}{spec.package} {dist.version}"


def is_present(spec: WeightSpec, p: Path) -> bool:
    if spec.kind == "dir":
        return p.is_dir() and not missing_files(spec, p)
    return p.is_file()


def _absent_reason(spec: WeightSpec, p: Path) -> str:
    if spec.kind == "dir" and p.is_dir():
        return f"incomplete (missing {', '.join(missing_files(spec, p))})"
    if spec.kind == "file" and p.is_dir():
        return "is a directory, expected a file"
    if spec.kind == "dir" and p.exists():
        return "is a file, expected a directory"
    return "not found"


def _candidates(spec: WeightSpec, tried: list[str]) -> Iterable[Location]:
    """Disk locations in resolution order (after an explicit path); notes misses in ``tried``.

    A set per-file variable that names nothing is an error, not a miss.
    """
    env = os.environ.get(spec.env_var)
    if env:
        p = Path(env).expanduser()
        if not is_present(spec, p):
            raise WeightsUnavailable(
                f"weight {spec.name!r}: ${spec.env_var}={env} but that path is "
                f"{_absent_reason(spec, p)}. Unset it or point it at {spec.filename}."
            )
        yield Location(p, f"${spec.env_var}")
    else:
        tried.append(f"${spec.env_var}: not set")
    wdir = os.environ.get(WEIGHTS_DIR_ENV)
    if wdir:
        p = Path(wdir).expanduser() / spec.filename
        if is_present(spec, p):
            yield Location(p, f"${WEIGHTS_DIR_ENV}")
        else:
            tried.append(f"{p} (${WEIGHTS_DIR_ENV}): {_absent_reason(spec, p)}")
    else:
        tried.append(f"${WEIGHTS_DIR_ENV}: not set")
    p = cache_dir() / spec.filename
    if is_present(spec, p):
        yield Location(p, "cache")
    else:
        which = f"${CACHE_ENV}" if os.environ.get(CACHE_ENV) else f"default; ${CACHE_ENV} not set"
        tried.append(f"{p} (cache, {which}): {_absent_reason(spec, p)}")
    if spec.package:
        pp, origin = package_payload(spec)
        if pp is not None:
            yield Location(pp, origin)
        else:
            tried.append(
                f"package {spec.package} ({spec.package_path}): {origin}; "
                f"{spec.package_install()}"
            )


def locate(name: str) -> Location | None:
    """First place on disk where ``name`` is (no hashing, no download; a bad env var -> None)."""
    spec = get_weight_spec(name)
    try:
        return next(iter(_candidates(spec, [])), None)
    except WeightsUnavailable:
        return None


def _mismatch_message(spec: WeightSpec, where: str, expected: str, actual: str) -> str:
    return (
        f"weight {spec.name!r}: sha256 mismatch for {where}\n"
        f"  expected {expected}\n  actual   {actual}\n"
        "The file is corrupt, truncated or a different checkpoint; it was not used. Delete it and "
        f"run `avatar-eval weights pull {spec.name}`, or fetch {spec.manual_source()} by hand."
    )


def _payload_mismatch_message(spec: WeightSpec, path: Path, origin: str, actual: str) -> str:
    return (
        f"weight {spec.name!r}: the payload of the installed {origin} is not the file the "
        f"catalogue pins ({path})\n"
        f"  expected sha256 {spec.sha256}\n  actual   sha256 {actual}\n"
        "The package only carries the file; a release with other bytes is refused and the file "
        f"was not used. Install {spec.package_requirement()} ({spec.package_install()}; in a "
        f"checkout, all carriers: {CARRIERS_INSTALL}), or put the right file at "
        f"{cache_dir() / spec.filename} (or set ${spec.env_var})."
    )


def check_file(spec: WeightSpec, path: Path, origin: str) -> Path:
    """Verify ``path`` against the catalogue sha256 (when known); return it or raise."""
    if spec.kind == "file" and spec.sha256 is not None:
        actual = cached_sha256(path, hash_index_dir())
        if actual != spec.sha256:
            if origin.startswith(PACKAGE_ORIGIN):
                raise WeightsUnavailable(_payload_mismatch_message(spec, path, origin, actual))
            raise WeightsUnavailable(
                _mismatch_message(spec, f"{path} ({origin})", spec.sha256, actual)
            )
    return path


def _unavailable(spec: WeightSpec, tried: list[str]) -> WeightsUnavailable:
    places = "\n".join(f"  {i}. {t}" for i, t in enumerate(tried, 1))
    head = f"weight {spec.name!r} ({spec.filename}) is not available. Looked in:\n{places}\n"
    if spec.package and not spec.download_urls():
        return WeightsUnavailable(
            head + f"It ships only inside a registry package: {spec.package_install()}\n"
            f"(in a checkout, all carriers: {CARRIERS_INSTALL}),\n"
            f"or put its {spec.package_path} at {cache_dir() / spec.filename} "
            f"(or set ${spec.env_var} to its path)."
        )
    pkg = ""
    if spec.package:
        pkg = f"or install the package that carries it: {spec.package_install()}\n"
    return WeightsUnavailable(
        head + f"Get it with:  avatar-eval weights pull {spec.name}\n"
        f"{pkg}or download by hand: {spec.manual_source()}\n"
        f"and put it at {cache_dir() / spec.filename} (or set ${spec.env_var} to its path)."
    )


def download_weight(spec: WeightSpec, dest: Path, *, progress: Progress | None = None) -> Path:
    """Fetch ``spec`` to ``dest`` and verify it; translate failures into WeightsUnavailable.

    Raises :class:`DownloadError` (unchanged) when the bytes cannot be fetched, so the caller can
    list it among the places tried.
    """
    try:
        if spec.kind == "dir":
            fetch_dir(spec, dest)
        else:
            digest = fetch_file(spec, dest, progress=progress)
            record_sha256(dest, digest, hash_index_dir())  # no rehash on the next resolve
    except ChecksumMismatch as e:
        if e.what == "sha256":
            raise WeightsUnavailable(
                _mismatch_message(spec, f"the download from {e.url}", e.expected, e.actual)
                + " Nothing was kept."
            ) from None
        raise WeightsUnavailable(
            f"weight {spec.name!r}: the download from {e.url} has {e.actual}, the catalogue says "
            f"{e.expected}. Nothing was kept."
        ) from None
    return dest


def resolve_weight(
    name: str,
    path: str | os.PathLike[str] | None = None,
    *,
    offline: bool | None = None,
    download: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Path of weight ``name`` on disk, downloading it into the cache when allowed.

    Order: ``path`` > ``$AVATAR_EVAL_W_<NAME>`` > ``$AVATAR_EVAL_WEIGHTS_DIR/<filename>`` >
    ``<cache>/<filename>`` > the payload of the installed carrier package (``spec.package``) >
    download into the cache. Files are checked against the catalogue
    sha256 when it is known (a mismatch raises, the file is never used). ``offline=None`` reads
    ``AVATAR_EVAL_OFFLINE`` / ``HF_HUB_OFFLINE``. Raises :class:`WeightsUnavailable` naming every
    place tried, ``avatar-eval weights pull NAME`` and the URL.
    """
    spec = get_weight_spec(name)
    if path is not None:
        p = Path(path).expanduser()
        if not is_present(spec, p):
            raise WeightsUnavailable(
                f"weight {spec.name!r}: the path given explicitly, {p}, is "
                f"{_absent_reason(spec, p)}."
            )
        return check_file(spec, p, "explicit path")
    tried: list[str] = []
    for loc in _candidates(spec, tried):
        return check_file(spec, loc.path, loc.origin)
    if not spec.download_urls() and spec.kind == "file":
        tried.append("download: none (no URL; the file ships only inside a package)")
        raise _unavailable(spec, tried)
    reason = offline_reason() if offline is None else ("offline=True" if offline else None)
    if reason is not None:
        tried.append(f"download: skipped, offline ({reason})")
        raise _unavailable(spec, tried)
    if not download:
        tried.append("download: not attempted (download=False)")
        raise _unavailable(spec, tried)
    dest = cache_dir() / spec.filename
    try:
        return download_weight(spec, dest, progress=progress)
    except DownloadError as e:
        tried.append(f"download into {dest}: failed ({e})")
        raise _unavailable(spec, tried) from None


def weight_sha256(spec: WeightSpec, path: Path, *, refresh: bool = False) -> str:
    """Digest of a file, or the tree digest of a directory weight (cached by size + mtime)."""
    if spec.kind == "dir":
        return tree_sha256(path, hash_index_dir(), refresh=refresh)
    return cached_sha256(path, hash_index_dir(), refresh=refresh)


def weights_hashes(names: Iterable[str]) -> dict[str, str | None]:
    """sha256 of each weight as found on disk now (for run metadata); ``None`` when it is not
    there. Never downloads."""
    out: dict[str, str | None] = {}
    for name in names:
        spec = get_weight_spec(name)
        try:
            p = resolve_weight(name, offline=True, download=False)
        except WeightsUnavailable:
            out[name] = None
            continue
        out[name] = weight_sha256(spec, p)
    return out
