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
        if self.kind == "file" and not (self.url or (self.hf_repo and self.hf_file)):
            raise ValueError(f"weight {self.name!r}: a file needs url or hf_repo + hf_file")
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

    def manual_source(self) -> str:
        """Where to fetch the weight by hand (for error messages and docs)."""
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
