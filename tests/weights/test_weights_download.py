"""Downloads against a real HTTP server on 127.0.0.1: verify, atomic rename, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from _weights_helpers import (
    OTHER,
    OTHER_SHA,
    TINY,
    TINY_SHA,
    Register,
    Server,
    tiny_spec,
    zip_bytes,
)

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.weights import WeightSpec, download, hashing, resolve_weight, weights_hashes


def _leftovers(d: Path) -> list[str]:
    """Everything in the cache dir except hash records."""
    if not d.exists():
        return []
    return sorted(p.name for p in d.iterdir() if p.name != ".sha256")


def test_download_verifies_and_renames_atomically(
    register: Register, http_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/w/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/w/tiny.bin")))
    seen: list[str] = []
    real_replace = download.os.replace

    def spy_replace(src: str, dst: str) -> None:
        if Path(dst).name != "tiny.bin":  # hash-cache records use os.replace too
            return real_replace(src, dst)
        # the bytes are complete in a temporary file of the same directory before the rename
        assert Path(src).parent == Path(dst).parent == clean_env
        assert Path(src).name.startswith(".tiny.bin.") and Path(src).read_bytes() == TINY
        assert not Path(dst).exists()
        seen.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(download.os, "replace", spy_replace)
    path = resolve_weight("tiny")
    assert path == clean_env / "tiny.bin" and path.read_bytes() == TINY
    assert seen == [str(path)]
    assert _leftovers(clean_env) == ["tiny.bin"]
    assert http_server.requests == ["/w/tiny.bin"]
    # second call: found in the cache, no request
    assert resolve_weight("tiny") == path
    assert http_server.requests == ["/w/tiny.bin"]
    assert weights_hashes(["tiny"]) == {"tiny": TINY_SHA}


def test_downloaded_digest_is_remembered(
    register: Register, http_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    resolve_weight("tiny")

    def no_rehash(path: object) -> str:
        raise AssertionError("rehashed a file whose digest was computed while downloading")

    monkeypatch.setattr(hashing, "sha256_file", no_rehash)
    assert resolve_weight("tiny") == clean_env / "tiny.bin"


def test_wrong_bytes_are_a_mismatch_and_leave_nothing(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, OTHER)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    with pytest.raises(WeightsUnavailable) as ei:
        resolve_weight("tiny")
    msg = str(ei.value)
    assert "sha256 mismatch" in msg and http_server.url("/tiny.bin") in msg
    assert TINY_SHA in msg and OTHER_SHA in msg
    assert "Nothing was kept" in msg
    assert _leftovers(clean_env) == []


def test_unknown_sha256_download_is_kept_and_hash_recorded(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/nh.bin"] = (200, OTHER)
    register(tiny_spec("nh", sha256=None, url=http_server.url("/nh.bin")))
    assert resolve_weight("nh").read_bytes() == OTHER
    assert weights_hashes(["nh"]) == {"nh": OTHER_SHA}


def test_size_mismatch_is_caught(register: Register, http_server: Server, clean_env: Path) -> None:
    http_server.routes["/s.bin"] = (200, TINY)
    register(tiny_spec("s", sha256=None, size_bytes=len(TINY) + 1, url=http_server.url("/s.bin")))
    with pytest.raises(WeightsUnavailable, match=f"{len(TINY)} bytes"):
        resolve_weight("s")
    assert _leftovers(clean_env) == []


def test_http_error_lists_url_and_status(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    register(tiny_spec(url=http_server.url("/missing.bin")))
    with pytest.raises(WeightsUnavailable) as ei:
        resolve_weight("tiny")
    msg = str(ei.value)
    assert f"download into {clean_env / 'tiny.bin'}: failed" in msg
    assert http_server.url("/missing.bin") in msg and "HTTP 404" in msg
    assert "avatar-eval weights pull tiny" in msg
    assert _leftovers(clean_env) == []


def test_unreachable_server_counts_as_offline(register: Register, clean_env: Path) -> None:
    # port 9 (discard) on loopback: nothing listens, the connection is refused
    register(tiny_spec(url="http://127.0.0.1:9/tiny.bin"))
    with pytest.raises(WeightsUnavailable, match="failed") as ei:
        resolve_weight("tiny")
    assert "avatar-eval weights pull tiny" in str(ei.value)
    assert _leftovers(clean_env) == []


def test_mirror_is_tried_after_a_failing_primary(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/mirror/tiny.bin"] = (200, TINY)
    register(
        tiny_spec(url=http_server.url("/gone.bin"), mirrors=(http_server.url("/mirror/tiny.bin"),))
    )
    assert resolve_weight("tiny").read_bytes() == TINY
    assert http_server.requests == ["/gone.bin", "/mirror/tiny.bin"]


def test_truncated_body_is_rejected(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    # the server announces more bytes than it sends, then closes the connection
    http_server.routes["/t.bin"] = (200, TINY)
    http_server.declared_length["/t.bin"] = len(TINY) + 100
    register(tiny_spec("trunc", sha256=None, url=http_server.url("/t.bin")))
    with pytest.raises(WeightsUnavailable, match="IncompleteRead|truncated") as ei:
        resolve_weight("trunc")
    assert "avatar-eval weights pull trunc" in str(ei.value)
    assert _leftovers(clean_env) == []


def test_downloaded_file_is_readable_by_others(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    assert resolve_weight("tiny").stat().st_mode & 0o777 == 0o644


def test_hf_file_goes_through_hf_endpoint(
    register: Register, http_server: Server, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/org/repo/resolve/main/ckpts/model.pt"] = (200, TINY)
    monkeypatch.setenv("HF_ENDPOINT", http_server.base)
    register(
        WeightSpec(
            name="hf",
            filename="hf_model.pt",
            hf_repo="org/repo",
            hf_file="ckpts/model.pt",
            sha256=TINY_SHA,
        )
    )
    assert resolve_weight("hf") == clean_env / "hf_model.pt"


def test_zip_member_is_extracted_and_verified(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/models.zip"] = (
        200,
        zip_bytes({"models/raft-x.pth": TINY, "models/other.pth": OTHER}),
    )
    register(
        WeightSpec(
            name="zipped",
            filename="raft-x.pth",
            url=http_server.url("/models.zip"),
            archive_member="models/raft-x.pth",
            sha256=TINY_SHA,
        )
    )
    p = resolve_weight("zipped")
    assert p.read_bytes() == TINY
    assert _leftovers(clean_env) == ["raft-x.pth"]  # the archive itself is not kept


def test_zip_member_by_basename_and_missing_member(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/pack.zip"] = (200, zip_bytes({"buffalo_l/w.onnx": TINY}))
    register(
        WeightSpec(
            name="z1",
            filename="w.onnx",
            url=http_server.url("/pack.zip"),
            archive_member="w.onnx",
            sha256=TINY_SHA,
        )
    )
    assert resolve_weight("z1").read_bytes() == TINY
    register(
        WeightSpec(
            name="z2",
            filename="absent.onnx",
            url=http_server.url("/pack.zip"),
            archive_member="absent.onnx",
        )
    )
    with pytest.raises(WeightsUnavailable, match="no unique member 'absent.onnx'"):
        resolve_weight("z2")
    http_server.routes["/notzip"] = (200, b"plain bytes")
    register(
        WeightSpec(
            name="z3", filename="z3.onnx", url=http_server.url("/notzip"), archive_member="z3.onnx"
        )
    )
    with pytest.raises(WeightsUnavailable, match="not a zip"):
        resolve_weight("z3")
    assert _leftovers(clean_env) == ["w.onnx"]


# ----------------------------------------------------------------------------- directories


@pytest.fixture
def dir_spec(register: Register) -> WeightSpec:
    return register(
        WeightSpec(
            name="tinydir",
            filename="tinydir",
            kind="dir",
            hf_repo="org/tinydir",
            files=("config.json", "model.bin"),
        )
    )


def test_dir_download_renames_complete_snapshot(
    dir_spec: WeightSpec, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, list[str]]] = []

    def fake_snapshot(
        repo_id: str, revision: str, allow_patterns: list[str], local_dir: Path
    ) -> None:
        calls.append((repo_id, revision, allow_patterns))
        assert local_dir.parent == clean_env and local_dir.name.startswith(".tinydir.")
        (local_dir / "config.json").write_text("{}")
        (local_dir / "model.bin").write_bytes(TINY)

    monkeypatch.setattr(download, "_hf_snapshot", fake_snapshot)
    p = resolve_weight("tinydir")
    assert p == clean_env / "tinydir" and (p / "model.bin").read_bytes() == TINY
    assert calls == [("org/tinydir", "main", ["config.json", "model.bin"])]
    assert _leftovers(clean_env) == ["tinydir"]


def test_incomplete_dir_snapshot_leaves_nothing(
    dir_spec: WeightSpec, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def partial(repo_id: str, revision: str, allow_patterns: list[str], local_dir: Path) -> None:
        (local_dir / "config.json").write_text("{}")

    monkeypatch.setattr(download, "_hf_snapshot", partial)
    with pytest.raises(WeightsUnavailable, match="lacks model.bin"):
        resolve_weight("tinydir")
    assert _leftovers(clean_env) == []


def test_dir_offline_never_calls_the_hub(
    dir_spec: WeightSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("hub called while offline")

    monkeypatch.setattr(download, "_hf_snapshot", boom)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match=r"offline \(\$HF_HUB_OFFLINE=1\)") as ei:
        resolve_weight("tinydir")
    assert "org/tinydir" in str(ei.value)
