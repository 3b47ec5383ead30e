"""Downloads: stream into a temporary file next to the destination, verify, then ``os.replace``.

Nothing is ever left at the destination path unless it passed verification; temporaries are
removed on every failure. Files use urllib (stdlib); ``kind="dir"`` weights (Hugging Face model
directories) use ``huggingface_hub.snapshot_download`` into a temporary directory that is renamed
into place once every required file is there.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from .spec import WeightSpec

#: ``progress(bytes_done, bytes_total_or_None)``
Progress = Callable[[int, int | None], None]

_CHUNK = 1 << 20


class DownloadError(Exception):
    """The bytes could not be fetched (network, HTTP status, missing archive member, ...)."""


class ChecksumMismatch(Exception):
    """Fetched bytes differ from the catalogue (sha256 or size)."""

    def __init__(self, what: str, expected: str, actual: str, url: str) -> None:
        super().__init__(f"{what} mismatch for {url}: expected {expected}, got {actual}")
        self.what, self.expected, self.actual, self.url = what, expected, actual, url


def _user_agent() -> str:
    from .. import __version__

    return f"avatar-eval/{__version__}"


def _stream_url(url: str, out: Path, progress: Progress | None, timeout: float) -> str:
    """Write the body of ``url`` to ``out``; return its sha256."""
    req = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    h = hashlib.sha256()
    total: int | None = None
    done = 0
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(out, "wb") as f:
            total_hdr = resp.headers.get("Content-Length")
            total = int(total_hdr) if total_hdr and total_hdr.isdigit() else None
            while chunk := resp.read(_CHUNK):
                f.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            f.flush()
            os.fsync(f.fileno())
    except urllib.error.HTTPError as e:
        raise DownloadError(f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"{type(e).__name__}: {reason}") from None
    if total is not None and done != total:
        raise DownloadError(f"truncated body: {done} of {total} bytes")
    return h.hexdigest()


def _extract_member(archive: Path, member: str, out: Path) -> str:
    """Copy one member of a zip to ``out``; return its sha256."""
    h = hashlib.sha256()
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if member in names:
                name = member
            else:
                cands = [n for n in names if n.endswith("/" + member)]
                if len(cands) != 1:
                    raise DownloadError(f"archive has no unique member {member!r}")
                name = cands[0]
            with zf.open(name) as src, open(out, "wb") as f:
                while chunk := src.read(_CHUNK):
                    f.write(chunk)
                    h.update(chunk)
    except zipfile.BadZipFile as e:
        raise DownloadError(f"not a zip archive: {e}") from None
    return h.hexdigest()


def _unlink(p: Path | None) -> None:
    if p is not None:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _tmp_in(directory: Path, name: str, suffix: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=directory)
    os.close(fd)
    return Path(tmp)


def fetch_file(
    spec: WeightSpec,
    dest: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> str:
    """Download ``spec`` to ``dest`` (atomically); return the file's sha256.

    URLs are tried in order (primary, then mirrors) while they fail to deliver bytes. A checksum
    or size mismatch stops at once with :class:`ChecksumMismatch`; every URL failing raises
    :class:`DownloadError` naming each.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in spec.download_urls():
        body = _tmp_in(dest.parent, dest.name, ".part")
        member: Path | None = None
        try:
            digest = _stream_url(url, body, progress, timeout)
            out = body
            if spec.archive_member:
                member = _tmp_in(dest.parent, dest.name, ".member")
                digest = _extract_member(body, spec.archive_member, member)
                out = member
            size = out.stat().st_size
            if spec.size_bytes is not None and size != spec.size_bytes:
                raise ChecksumMismatch("size", f"{spec.size_bytes} bytes", f"{size} bytes", url)
            if spec.sha256 is not None and digest != spec.sha256:
                raise ChecksumMismatch("sha256", spec.sha256, digest, url)
            os.chmod(out, 0o644)  # mkstemp makes 0600; weights dirs may be shared
            os.replace(out, dest)
            return digest
        except DownloadError as e:
            failures.append(f"{url}: {e}")
        finally:
            _unlink(body)
            _unlink(member)
    raise DownloadError("; ".join(failures) if failures else "no download URL")


def missing_files(spec: WeightSpec, root: Path) -> list[str]:
    """Required files of a ``kind="dir"`` weight that ``root`` lacks ("a|b": either will do)."""
    out = []
    for entry in spec.files:
        if not any((root / alt).is_file() for alt in entry.split("|")):
            out.append(entry)
    return out


def _hf_snapshot(repo_id: str, revision: str, allow_patterns: list[str], local_dir: Path) -> None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise DownloadError(
            "huggingface_hub is not installed (pip install huggingface_hub, or the 'models' extra)"
        ) from None
    try:
        snapshot_download(
            repo_id=repo_id, revision=revision, allow_patterns=allow_patterns, local_dir=local_dir
        )
    except Exception as e:  # huggingface_hub raises many types (HTTP, offline, repo not found)
        raise DownloadError(f"{type(e).__name__}: {e}") from None


def fetch_dir(spec: WeightSpec, dest: Path) -> None:
    """Download a ``kind="dir"`` weight into ``dest`` (temporary directory, then rename).

    An existing ``dest`` directory (the caller decided it may go: incomplete, or ``--force``) is
    swapped out only after the new snapshot is complete.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    old: Path | None = None
    try:
        _hf_snapshot(spec.hf_repo or "", spec.revision, list(spec.allow_patterns), tmp)
        missing = missing_files(spec, tmp)
        if missing:
            raise DownloadError(f"snapshot of {spec.hf_repo} lacks {', '.join(missing)}")
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        if dest.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
            os.replace(dest, old)  # replaces the empty placeholder directory
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
