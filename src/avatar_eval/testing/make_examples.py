"""Rebuild examples/clips/{audio_shift_0.5s,frozen} from examples/clips/gt."""

from __future__ import annotations

import sys
from pathlib import Path

from . import variants as V


def main(root: str = "examples/clips") -> None:
    base = Path(root)
    for p in sorted((base / "gt").iterdir()):
        if p.suffix.lower() not in (".mp4", ".mpg"):
            continue
        V.shift_audio(p, base / "audio_shift_0.5s" / f"{p.stem}.mp4", 0.5)
        V.freeze(p, base / "frozen" / f"{p.stem}.mp4")
        print("made variants of", p.name)


if __name__ == "__main__":
    main(*sys.argv[1:])
