"""Where the real speech test data are: the repository copies and ../shared/data (optional)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "speech"


def shared_root() -> Path | None:
    """``../shared/data`` next to the repository (or $AVATAR_EVAL_SHARED_DATA), if present."""
    env = os.environ.get("AVATAR_EVAL_SHARED_DATA")
    for p in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (p / "speech").is_dir():
            return p
    return None


def _txt_pairs(folder: Path, pattern: str) -> list[tuple[Path, str]]:
    return [(f, f.with_suffix(".txt").read_text("utf-8").strip())
            for f in sorted(folder.glob(pattern)) if f.with_suffix(".txt").is_file()]


def _tsv_pairs(folder: Path, tsv: str) -> list[tuple[Path, str]]:
    with open(folder / tsv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return [(folder / r[0], r[1]) for r in rows[1:] if len(r) >= 2 and (folder / r[0]).is_file()]


def DATASETS(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """(file, reference) per dataset of ../shared/data."""
    sp = root / "speech"
    misc = sp / "misc"
    return {
        "librivox": _txt_pairs(sp / "librivox", "*.wav"),
        "misc": [(misc / "jfk.flac", (misc / "jfk.txt").read_text().strip()),
                 (misc / "goforward.wav", "go forward ten meters"),
                 (misc / "one_two_three.wav", "one two three")],
        "grid": _tsv_pairs(root / "talking_head" / "grid", "transcripts.tsv"),
    }


def REPO_DATASETS() -> dict[str, list[tuple[Path, str]]]:
    """(file, reference) of the copies in tests/data/speech (always there)."""
    return {
        "librivox": _txt_pairs(DATA / "librivox", "*.wav"),
        "misc": _txt_pairs(DATA / "misc", "*.*[!t]"),
        "grid": _tsv_pairs(DATA / "grid", "transcripts.tsv"),
    }


def shuffled(refs: list[str]) -> list[str]:
    """A derangement of the references: each hypothesis gets another utterance's text."""
    return refs[1:] + refs[:1]


def silent_flac(path: Path, seconds: int, sr: int = 8000) -> Path:
    """A FLAC of silence (tiny on disk whatever its duration): the very-long-audio case."""
    import av
    import numpy as np

    with av.open(str(path), "w") as c:
        st = c.add_stream("flac", rate=sr, layout="mono")
        z = np.zeros((1, sr * 10), np.int16)
        for _ in range(seconds // 10):
            fr = av.AudioFrame.from_ndarray(z, format="s16", layout="mono")
            fr.sample_rate = sr
            for pkt in st.encode(fr):
                c.mux(pkt)
        for pkt in st.encode(None):
            c.mux(pkt)
    return path
