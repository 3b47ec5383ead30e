"""Resolution order, checksum errors, the "not available" message, offline mode, hash cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from _weights_helpers import OTHER, OTHER_SHA, TINY, TINY_SHA, Register, Server, tiny_spec

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.weights import (
    WeightSpec,
    hashing,
    locate,
    resolve_weight,
    sha256_file,
    weights_hashes,
)


def _write(p: Path, data: bytes = TINY) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


@pytest.fixture
def places(
    tmp_path: Path, clean_env: Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """The tiny weight present in all four places; returns their paths."""
    spec = register(tiny_spec())
    explicit = _write(tmp_path / "explicit" / "mine.bin")
    env_file = _write(tmp_path / "envvar" / "tiny.bin")
    wdir = tmp_path / "wdir"
    in_wdir = _write(wdir / spec.filename)
    in_cache = _write(clean_env / spec.filename)
    monkeypatch.setenv(spec.env_var, str(env_file))
    monkeypatch.setenv("AVATAR_EVAL_WEIGHTS_DIR", str(wdir))
    return {"explicit": explicit, "env": env_file, "wdir": in_wdir, "cache": in_cache}


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    assert sha256_file(_write(tmp_path / "f")) == TINY_SHA
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sha256_file(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_each_step_wins_in_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_weight("tiny", places["explicit"]) == places["explicit"]
    assert resolve_weight("tiny") == places["env"]
    monkeypatch.delenv("AVATAR_EVAL_W_TINY")
    assert resolve_weight("tiny") == places["wdir"]
    places["wdir"].unlink()
    assert resolve_weight("tiny") == places["cache"]
    monkeypatch.delenv("AVATAR_EVAL_WEIGHTS_DIR")
    assert resolve_weight("tiny") == places["cache"]


def test_locate_reports_origin(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    loc = locate("tiny")
    assert loc is not None and loc.path == places["env"] and loc.origin == "$AVATAR_EVAL_W_TINY"
    monkeypatch.delenv("AVATAR_EVAL_W_TINY")
    loc = locate("tiny")
    assert loc is not None and loc.origin == "$AVATAR_EVAL_WEIGHTS_DIR"
    places["wdir"].unlink()
    places["cache"].unlink()
    assert locate("tiny") is None


def test_explicit_path_missing_is_a_clear_error(places: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    with pytest.raises(WeightsUnavailable, match="explicitly") as ei:
        resolve_weight("tiny", missing)
    assert str(missing) in str(ei.value)


def test_env_var_pointing_nowhere_is_an_error_not_a_fallthrough(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AVATAR_EVAL_W_TINY", str(tmp_path / "gone.bin"))
    with pytest.raises(WeightsUnavailable, match=r"\$AVATAR_EVAL_W_TINY=.*gone\.bin"):
        resolve_weight("tiny")


@pytest.mark.parametrize("where", ["explicit", "env", "wdir", "cache"])
def test_sha256_mismatch_anywhere_is_an_error(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    places[where].write_bytes(OTHER)
    if where in ("wdir", "cache"):
        monkeypatch.delenv("AVATAR_EVAL_W_TINY")
    if where == "cache":
        places["wdir"].unlink()
    with pytest.raises(WeightsUnavailable) as ei:
        resolve_weight("tiny", places["explicit"] if where == "explicit" else None)
    msg = str(ei.value)
    assert "sha256 mismatch" in msg and str(places[where]) in msg
    assert f"expected {TINY_SHA}" in msg and f"actual   {OTHER_SHA}" in msg
    assert "avatar-eval weights pull tiny" in msg


def test_unknown_sha256_is_not_checked(register: Register, clean_env: Path) -> None:
    register(tiny_spec("nohash", sha256=None))
    p = _write(clean_env / "nohash.bin", OTHER)
    assert resolve_weight("nohash") == p


def test_absent_message_lists_every_place_and_the_pull_command(
    register: Register, clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(tiny_spec(url="https://example.invalid/weights/tiny.bin"))
    monkeypatch.setenv("AVATAR_EVAL_WEIGHTS_DIR", str(tmp_path / "wdir"))
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable) as ei:
        resolve_weight("tiny")
    msg = str(ei.value)
    assert "$AVATAR_EVAL_W_TINY: not set" in msg
    assert f"{tmp_path / 'wdir' / 'tiny.bin'} ($AVATAR_EVAL_WEIGHTS_DIR): not found" in msg
    assert f"{clean_env / 'tiny.bin'} (cache, $AVATAR_EVAL_CACHE): not found" in msg
    assert "download: skipped, offline ($AVATAR_EVAL_OFFLINE=1)" in msg
    assert "avatar-eval weights pull tiny" in msg
    assert "https://example.invalid/weights/tiny.bin" in msg


def test_absent_message_names_unset_weights_dir_and_default_cache(
    register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(tiny_spec())
    monkeypatch.delenv("AVATAR_EVAL_CACHE")
    monkeypatch.setenv("HOME", "/nonexistent-home")
    with pytest.raises(WeightsUnavailable) as ei:
        resolve_weight("tiny", download=False)
    msg = str(ei.value)
    assert "$AVATAR_EVAL_WEIGHTS_DIR: not set" in msg
    assert "/nonexistent-home/.cache/avatar-eval/weights/tiny.bin" in msg
    assert "$AVATAR_EVAL_CACHE not set" in msg
    assert "download: not attempted" in msg


@pytest.mark.parametrize(
    "var, value",
    [("AVATAR_EVAL_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"), ("AVATAR_EVAL_OFFLINE", "true")],
)
def test_offline_env_never_downloads(
    register: Register,
    http_server: Server,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    var: str,
    value: str,
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    monkeypatch.setenv(var, value)
    with pytest.raises(WeightsUnavailable, match=f"offline \\(\\${var}={value}\\)"):
        resolve_weight("tiny")
    assert http_server.requests == []
    assert not (clean_env / "tiny.bin").exists()


def test_offline_argument_overrides_environment(
    register: Register, http_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    with pytest.raises(WeightsUnavailable, match="offline=True"):
        resolve_weight("tiny", offline=True)
    assert http_server.requests == []
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    assert resolve_weight("tiny", offline=False).read_bytes() == TINY
    assert http_server.requests == ["/tiny.bin"]


def test_off_values_do_not_mean_offline(
    register: Register, http_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "")
    assert resolve_weight("tiny").read_bytes() == TINY


def test_hash_is_cached_by_size_and_mtime(
    register: Register, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(tiny_spec())
    p = _write(clean_env / "tiny.bin")
    calls: list[str] = []
    real = hashing.sha256_file

    def counting(path: object) -> str:
        calls.append(str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "sha256_file", counting)
    for _ in range(3):
        resolve_weight("tiny")
    assert len(calls) == 1
    assert list((clean_env / ".sha256").glob("*.json"))
    # same size, new content and mtime: rehashed, and the mismatch is caught
    p.write_bytes(b"X" * len(TINY))
    import os

    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(WeightsUnavailable, match="sha256 mismatch"):
        resolve_weight("tiny")
    assert len(calls) == 2


def test_weights_hashes_never_downloads(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/a.bin"] = (200, TINY)
    register(tiny_spec("wa", url=http_server.url("/a.bin")))
    register(tiny_spec("wb", sha256=None))
    _write(clean_env / "wb.bin", OTHER)
    assert weights_hashes(["wa", "wb"]) == {"wa": None, "wb": OTHER_SHA}
    assert http_server.requests == []


def test_dir_weight_resolution_requires_every_file(
    register: Register, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(
        WeightSpec(
            name="tinydir",
            filename="tinydir",
            kind="dir",
            hf_repo="org/tinydir",
            files=("config.json", "model.safetensors|pytorch_model.bin"),
        )
    )
    d = clean_env / "tinydir"
    _write(d / "config.json", b"{}")
    with pytest.raises(
        WeightsUnavailable, match=r"incomplete \(missing model.safetensors\|pytorch_model.bin\)"
    ):
        resolve_weight("tinydir", download=False)
    _write(d / "pytorch_model.bin", TINY)
    assert resolve_weight("tinydir") == d
    h1 = weights_hashes(["tinydir"])["tinydir"]
    assert h1 is not None and len(h1) == 64
    _write(d / ".cache" / "huggingface" / "meta", b"ignored")  # hidden: not part of the digest
    assert weights_hashes(["tinydir"])["tinydir"] == h1
    _write(d / "pytorch_model.bin", OTHER)
    assert weights_hashes(["tinydir"])["tinydir"] != h1
