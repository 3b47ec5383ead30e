"""Utterance-set formats, categories, and matching a system's files to utterance ids."""

from __future__ import annotations

import json

import pytest

from avatar_eval.errors import InputError
from avatar_eval.speech.utterances import (
    CATEGORIES,
    AudioFolder,
    MissingAudio,
    Utterance,
    canonical_category,
    load_utterances,
)


def test_jsonl_with_categories_prompts_and_meta(tmp_path):
    p = tmp_path / "set.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [
        {"id": "e1", "category": "Emotions", "text": "I can't believe it!", "prompt": "[angry] I can't believe it!"},
        {"id": "p1", "category": "paralinguistic", "text": "Well... haha.", "voice": "x"},
        {"id": "c1", "category": "Complex Pronunciation", "text": "Call 555-0100."},
        {"id": "s1", "category": "syntax", "text": "The horse raced past the barn fell.", "language": "en-GB"},
    ]) + "\n\n")
    u = load_utterances(p)
    assert [x.category for x in u] == list(CATEGORIES)
    assert u[0].tts_prompt == "[angry] I can't believe it!" and u[1].tts_prompt == "Well... haha."
    assert u[1].meta == {"voice": "x"} and u[3].language == "en-GB"
    assert u[0].category_label == "Emotions"


def test_csv_tsv_and_json_forms(tmp_path):
    (tmp_path / "a.csv").write_text("utterance_id,category,reference\nx1,emotions,hello there\n")
    (tmp_path / "b.tsv").write_text("file\ttranscript (GRID grammar)\nbbaf2n.mpg\tbin blue at f two now\n")
    (tmp_path / "c.json").write_text(json.dumps({"utterances": [{"id": "z", "text": "hi"}]}))
    a, = load_utterances(tmp_path / "a.csv")
    assert (a.id, a.category, a.text) == ("x1", "emotions", "hello there")
    b, = load_utterances(tmp_path / "b.tsv")
    assert (b.id, b.audio, b.text, b.category) == ("bbaf2n", "bbaf2n.mpg", "bin blue at f two now", "")
    c, = load_utterances(tmp_path / "c.json")
    assert (c.id, c.text) == ("z", "hi")


def test_folder_of_audio_with_txt(data_dir):
    u = load_utterances(data_dir / "librivox")
    assert len(u) == 5 and all(x.audio.endswith(".wav") and x.text for x in u)


@pytest.mark.parametrize("content, match", [
    ('{"id": "a", "text": "x", "category": "emotons"}\n', "Did you mean 'emotions'"),
    ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "appears twice"),
    ('{"text": "x"}\n', "no utterance id"),
    ('{"id": "a"}\n', "no reference text"),
    ('{"id": "a", "text": \n', "cannot parse"),
])
def test_bad_sets(tmp_path, content, match):
    p = tmp_path / "s.jsonl"
    p.write_text(content)
    with pytest.raises(InputError, match=match):
        load_utterances(p)


def test_other_categories_when_allowed(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"id": "a", "text": "x", "category": "Questions"}\n')
    assert load_utterances(p, strict_categories=False)[0].category == "questions"
    assert canonical_category(None) == "" and canonical_category("  ") == ""


def test_audio_folder_matching(tmp_path):
    d = tmp_path / "sys"
    (d / "sub").mkdir(parents=True)
    (d / "a.wav").write_bytes(b"x")
    (d / "sub" / "b.mp4").write_bytes(b"x")
    (d / "c.wav").write_bytes(b"x")
    (d / "c.flac").write_bytes(b"x")
    (d / "notes.txt").write_text("ignored")
    f = AudioFolder(d)
    assert f.find(Utterance("a", "t")).name == "a.wav"
    assert f.find(Utterance("b", "t")).name == "b.mp4"  # recursive, videos too
    with pytest.raises(MissingAudio, match="no audio for utterance 'zz'"):
        f.find(Utterance("zz", "t"))
    with pytest.raises(InputError, match="several files"):
        f.find(Utterance("c", "t"))
    assert f.find(Utterance("c", "t", audio="c.flac")).name == "c.flac"
    with pytest.raises(InputError, match="not found"):
        AudioFolder(tmp_path / "nope")
