"""`avatar-eval weights` sub-commands through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _weights_helpers import OTHER, OTHER_SHA, TINY, TINY_SHA, Register, Server, tiny_spec
from typer.testing import CliRunner, Result

from avatar_eval.cli.weights_cmd import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args), env=WIDE)


def test_list_shows_catalogue_and_where_found(register: Register, clean_env: Path) -> None:
    register(tiny_spec())
    (clean_env / "tiny.bin").parent.mkdir(parents=True)
    (clean_env / "tiny.bin").write_bytes(TINY)
    r = runner.invoke(app, ["list"], env={"COLUMNS": "500"})
    assert r.exit_code == 0, r.output
    assert "topiq_iaa" in r.output and "cfanet_iaa_ava_swin-393b41b4.pth" in r.output
    assert "missing" in r.output
    assert "unknown (prefix 393b41b4)" in r.output
    assert "MIT (openai/CLIP)" in r.output
    assert f"cache: {clean_env / 'tiny.bin'}" in r.output


def test_list_json(register: Register, clean_env: Path) -> None:
    register(tiny_spec())
    r = _run("list", "--json")
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.output)}
    assert (
        rows["clip_vit_b32"]["sha256"]
        == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    )
    assert rows["topiq_iaa"]["sha256"] is None and rows["topiq_iaa"]["found"] is None
    assert rows["topiq_iaa"]["env_var"] == "AVATAR_EVAL_W_TOPIQ_IAA"
    assert rows["tiny"]["sha256"] == TINY_SHA


def test_where_found_prints_the_path(register: Register, clean_env: Path) -> None:
    register(tiny_spec())
    clean_env.mkdir(parents=True)
    (clean_env / "tiny.bin").write_bytes(TINY)
    r = _run("where", "tiny")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(clean_env / "tiny.bin")


def test_where_missing_explains_and_exits_1(register: Register, http_server: Server) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    r = _run("where", "tiny")
    assert r.exit_code == 1
    assert "Looked in" in r.stderr and "avatar-eval weights pull tiny" in r.stderr
    assert http_server.requests == []  # `where` never downloads


def test_unknown_name_exits_2_with_suggestion() -> None:
    r = _run("where", "topiq_iia")
    assert r.exit_code == 2
    assert "Did you mean: topiq_iaa" in r.stderr


def test_pull_downloads_and_verifies(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    r = _run("pull", "tiny")
    assert r.exit_code == 0, r.output
    assert f"tiny: downloaded {clean_env / 'tiny.bin'}" in r.stdout
    assert (clean_env / "tiny.bin").read_bytes() == TINY
    r = _run("pull", "tiny")
    assert r.exit_code == 0 and "tiny: present" in r.stdout
    assert http_server.requests == ["/tiny.bin"]


def test_pull_to_directory(
    register: Register, http_server: Server, tmp_path: Path, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    dest = tmp_path / "shared-weights"
    r = _run("pull", "tiny", "--to", str(dest))
    assert r.exit_code == 0, r.output
    assert (dest / "tiny.bin").read_bytes() == TINY
    assert not (clean_env / "tiny.bin").exists()


def test_pull_offline_is_a_clear_error(
    register: Register, http_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    r = _run("pull", "tiny")
    assert r.exit_code == 1
    assert "offline ($AVATAR_EVAL_OFFLINE=1)" in r.stderr
    assert http_server.url("/tiny.bin") in r.stderr
    assert http_server.requests == []


def test_pull_mismatch_fails_and_keeps_nothing(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, OTHER)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    r = _run("pull", "tiny")
    assert r.exit_code == 1
    assert "sha256 mismatch" in r.stderr and OTHER_SHA in r.stderr
    assert not (clean_env / "tiny.bin").exists()


def test_pull_force_replaces_a_corrupt_copy(
    register: Register, http_server: Server, clean_env: Path
) -> None:
    http_server.routes["/tiny.bin"] = (200, TINY)
    register(tiny_spec(url=http_server.url("/tiny.bin")))
    clean_env.mkdir(parents=True)
    (clean_env / "tiny.bin").write_bytes(OTHER)
    r = _run("pull", "tiny")
    assert r.exit_code == 1 and "--force" in r.stderr
    r = _run("pull", "tiny", "--force")
    assert r.exit_code == 0, r.output
    assert (clean_env / "tiny.bin").read_bytes() == TINY


def test_verify_statuses(register: Register, clean_env: Path) -> None:
    register(tiny_spec("good"))
    register(tiny_spec("bad"))
    register(tiny_spec("nohash", sha256=None, sha256_prefix=OTHER_SHA[:8]))
    register(tiny_spec("absent"))
    clean_env.mkdir(parents=True)
    (clean_env / "good.bin").write_bytes(TINY)
    (clean_env / "bad.bin").write_bytes(OTHER)
    (clean_env / "nohash.bin").write_bytes(OTHER)

    r = _run("verify", "good", "nohash", "--json")
    assert r.exit_code == 0, r.output
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert rows["good"]["status"] == "ok" and rows["good"]["actual"] == TINY_SHA
    assert rows["nohash"]["status"] == "unknown" and rows["nohash"]["actual"] == OTHER_SHA
    assert rows["nohash"]["expected"] is None and rows["nohash"]["prefix"] == "matches"

    r = _run("verify", "good", "bad")
    assert r.exit_code == 1
    assert "mismatch" in r.stdout and f"expected {TINY_SHA}" in r.stdout

    r = _run("verify", "absent")
    assert r.exit_code == 1 and "missing" in r.stdout


def test_verify_all_tolerates_missing_weights(register: Register, clean_env: Path) -> None:
    register(tiny_spec("good"))
    clean_env.mkdir(parents=True)
    (clean_env / "good.bin").write_bytes(TINY)
    r = _run("verify", "--json")
    assert r.exit_code == 0, r.output
    rows = {x["name"]: x["status"] for x in json.loads(r.stdout)}
    assert rows["good"] == "ok" and rows["topiq_iaa"] == "missing"


def test_speech_whisper_sizes_are_listed(clean_env: Path) -> None:
    """The Whisper sizes the speech module adds are known to the weights CLI too."""
    r = _run("list", "--json")
    assert r.exit_code == 0, r.output
    names = {row["name"] for row in json.loads(r.output)}
    assert {"whisper_large_v3_ct2", "whisper_tiny_en_ct2"} <= names
