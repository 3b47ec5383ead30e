"""Helpers shared by the weights tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from avatar_eval.weights import WeightSpec

TINY = b"tiny weights for avatar-eval tests\n" * 3
TINY_SHA = hashlib.sha256(TINY).hexdigest()
OTHER = b"not the right bytes\n"
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()

#: the `register` fixture: add a spec to the registry for one test
Register = Callable[[WeightSpec], WeightSpec]


@dataclass
class Server:
    base: str
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    #: path -> Content-Length to announce instead of the true one (a truncated transfer)
    declared_length: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path


def tiny_spec(
    name: str = "tiny",
    *,
    sha256: str | None = TINY_SHA,
    url: str = "http://127.0.0.1:9/x",
    **kw: object,
) -> WeightSpec:
    return WeightSpec(
        name=name,
        filename=f"{name}.bin",
        url=url,
        sha256=sha256,
        license="test",
        source="test",
        **kw,  # type: ignore[arg-type]
    )


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()
