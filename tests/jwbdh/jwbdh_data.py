"""Paths of the JWB-DH test clips (tests/data/jwbdh, cut by make_clips.py)."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "jwbdh"


def clip(name: str) -> str:
    p = DATA / name
    assert p.exists(), f"missing test clip {p} (regenerate with tests/data/jwbdh/make_clips.py)"
    return str(p)
