"""Typed run options (``avatar_eval.options``): one table of keys, checked before any clip is decoded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from avatar_eval.options import (
    OPTION_KEYS,
    ConfigError,
    SyncNetOptions,
    SyncOptions,
    THEvalOptions,
    UnknownOption,
    family_options,
    load_config,
    option_table,
    parse_option_assignment,
    validate_options,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "avatar_eval"


def test_unknown_key_names_the_closest_one():
    with pytest.raises(UnknownOption, match=r"unknown option 'vad_modle'; did you mean 'vad_model'\?"):
        validate_options({"vad_modle": "silero-v6"})
    with pytest.raises(UnknownOption, match=r"'regions' has no key 'windw'; did you mean 'window'\?"):
        validate_options({"regions": {"windw": 3}})
    with pytest.raises(UnknownOption, match=r"'pair' has no key 'fps_mismach'; did you mean 'fps_mismatch'\?"):
        validate_options({"pair": {"fps_mismach": "refuse"}})
    with pytest.raises(UnknownOption) as e:
        validate_options({"zzz": 1})
    assert "did you mean" not in str(e.value)  # nothing close: no guess


def test_values_are_typed_or_refused():
    assert validate_options({"syncnet_min_face_size": 80, "av_offset_max_shift": 30.0, "vad_model": "silero-v6"}) == {
        "syncnet_min_face_size": 80.0, "av_offset_max_shift": 30, "vad_model": "silero-v6"}
    for bad in ({"av_offset_max_shift": 2.5}, {"syncnet_batch": "abc"}, {"syncnet_batch": True},
                {"regions": [3]}, {"vad_model": None}):
        with pytest.raises(ConfigError):
            validate_options(bad)
    assert validate_options({"asr_model": None}) == {"asr_model": None}  # its default is None


def test_family_defaults_are_the_ones_the_code_used():
    """The defaults moved here from the readers; the constants the rest of the code keeps agree."""
    from avatar_eval.audio.vad import DEFAULT_VAD
    from avatar_eval.metrics.functional.av_offset import DEFAULT_MAX_SHIFT
    from avatar_eval.options import ASROptions
    from avatar_eval.speech.asr import DEFAULT_MAX_DURATION_S

    assert THEvalOptions().vad_model == DEFAULT_VAD
    assert SyncOptions().max_shift == DEFAULT_MAX_SHIFT
    assert ASROptions().max_duration_s == DEFAULT_MAX_DURATION_S
    from avatar_eval.options import FaceMeshOptions
    from avatar_eval.regions.face_mesh import DEFAULT_STILL_THRESHOLD

    assert FaceMeshOptions().still_threshold == DEFAULT_STILL_THRESHOLD
    # null is allowed where the option means "off", and kept (not replaced by the default)
    assert validate_options({"face_mesh_still_threshold": None}) == {"face_mesh_still_threshold": None}
    assert family_options({"face_mesh_still_threshold": None}, FaceMeshOptions).still_threshold is None
    assert family_options({"syncnet_batch": "8", "other": 1}, SyncNetOptions) == SyncNetOptions(batch=8)


def test_every_option_key_the_source_reads_is_declared():
    """A key read anywhere in the package as ``options.get("KEY"`` / ``opts.get("KEY"`` (flat or nested) is in the
    table: a new option cannot bypass validation, --config and the docs."""
    from avatar_eval.options import _inner_keys

    known = set(OPTION_KEYS)
    for k in ("regions", "pair", "fid", "identity", "lpips"):
        known |= set(_inner_keys(k) or ())
    read = set()
    pat = re.compile(r"(?:\b(?:options|opts|o|extra)|options or \{\}\))\s*\.get\(\s*\"([a-z_0-9]+)\"")
    for p in SRC.rglob("*.py"):
        if p.name == "options.py" or "study" in p.parts:
            continue
        read |= {m.group(1) for m in pat.finditer(p.read_text())}
    assert read, "the scan found nothing: the pattern is broken"
    assert {"regions", "window", "crops_dir", "frame_stride", "device", "fid", "pair"} <= read
    assert read - known == set()


def test_table_lists_every_key_with_help():
    rows = option_table()
    assert {r["key"] for r in rows} == set(OPTION_KEYS)
    assert all(r["help"] for r in rows)


def test_option_assignment_reads_yaml_values():
    assert parse_option_assignment("av_offset_max_shift=30") == ("av_offset_max_shift", 30)
    assert parse_option_assignment("pair={fps_mismatch: refuse}") == ("pair", {"fps_mismatch": "refuse"})
    assert parse_option_assignment("vad_model=silero-v6") == ("vad_model", "silero-v6")
    with pytest.raises(ConfigError):
        parse_option_assignment("vad_model")


def test_load_config(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text("suite: [sync]\nworkers: 2\noptions:\n  av_offset_max_shift: 30\n")
    assert load_config(p) == {"suite": ["sync"], "workers": 2, "options": {"av_offset_max_shift": 30}}
    j = tmp_path / "run.json"
    j.write_text(json.dumps({"options": {"vad_model": "silero-v6"}}))
    assert load_config(j)["options"] == {"vad_model": "silero-v6"}
    p.write_text("vad_model: silero-v6\n")
    with pytest.raises(UnknownOption, match="put it under `options:`"):
        load_config(p)
    p.write_text("suites: [sync]\n")
    with pytest.raises(UnknownOption, match="did you mean 'suite'"):
        load_config(p)
    p.write_text("options: {vad_model: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_runner_refuses_bad_options_before_touching_the_run_dir(tmp_path, clips):
    from avatar_eval.pipeline.manifest import from_folders
    from avatar_eval.pipeline.runner import RunConfig, run

    out = tmp_path / "out"
    with pytest.raises(UnknownOption, match="did you mean 'vad_model'"):
        run(from_folders(clips / "gt", {}), RunConfig(metrics=["theval.lip_dynamics"], out_dir=str(out),
                                                   options={"vad_modle": "silero-v6"}), progress=False)
    assert not out.exists()


def test_docs_list_every_option():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text()
    missing = [k for k in OPTION_KEYS if f"`{k}`" not in doc]
    assert not missing, f"docs/options.md lacks {missing} (regenerate its table from avatar-eval options)"


def test_crop_codec_value_checked_up_front():
    assert validate_options({"regions": {"crop_codec": "ffv1"}}) == {"regions": {"crop_codec": "ffv1"}}
    with pytest.raises(ConfigError, match="crop_codec.*ffv1, ffvhuff"):
        validate_options({"regions": {"crop_codec": "png"}})
