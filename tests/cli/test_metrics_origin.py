"""``avatar-eval metrics NAME`` prints where the metric is defined (``registry.origin``).

Every registered metric of the package: the printed file exists and its line holds the metric's
class statement or its name as a literal. Names that are not in the source as a literal (built
by string assembly) are listed in :data:`NOT_A_LITERAL`, explicitly: a new assembled name fails
this test until it is added there (or written as a literal / table row), and a name that became
a literal must be taken off the list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.metrics.registry import get_metric_class, list_metrics, origin

runner = CliRunner()

#: registered names that `grep '"NAME"'` does not find where they are defined (issue 11 wants
#: every name findable as a literal or a table row). origin() still points at the table row or
#: the template that builds them.
NOT_A_LITERAL: frozenset[str] = frozenset({
    # metrics/vbench.py: _register_region() names each row of the _DIMENSIONS table (quantity,
    # variant, estimator, ...) with metric_name("vbench", quantity, region, variant) for "full" and
    # for every region regions/vbench_regions.py registers (face, hands, left_hand, right_hand, and
    # the compat crops face.compat, hands.compat -> the compat / offline_compat variants);
    # origin() prints the _DIMENSIONS row of the quantity and estimator.
    "vbench.aesthetic_quality", "vbench.aesthetic_quality.face", "vbench.aesthetic_quality.face.compat",
    "vbench.aesthetic_quality.hands", "vbench.aesthetic_quality.hands.compat",
    "vbench.aesthetic_quality.left_hand", "vbench.aesthetic_quality.right_hand",
    "vbench.background_consistency", "vbench.background_consistency.face",
    "vbench.background_consistency.face.compat", "vbench.background_consistency.hands",
    "vbench.background_consistency.hands.compat", "vbench.background_consistency.left_hand",
    "vbench.background_consistency.right_hand", "vbench.dynamic_degree", "vbench.dynamic_degree.face",
    "vbench.dynamic_degree.face.compat", "vbench.dynamic_degree.face.offline",
    "vbench.dynamic_degree.face.offline_compat", "vbench.dynamic_degree.hands",
    "vbench.dynamic_degree.hands.compat", "vbench.dynamic_degree.hands.offline",
    "vbench.dynamic_degree.hands.offline_compat", "vbench.dynamic_degree.left_hand",
    "vbench.dynamic_degree.left_hand.offline", "vbench.dynamic_degree.offline",
    "vbench.dynamic_degree.right_hand", "vbench.dynamic_degree.right_hand.offline", "vbench.imaging_quality",
    "vbench.imaging_quality.face", "vbench.imaging_quality.face.compat", "vbench.imaging_quality.hands",
    "vbench.imaging_quality.hands.compat", "vbench.imaging_quality.left_hand",
    "vbench.imaging_quality.right_hand", "vbench.motion_smoothness", "vbench.motion_smoothness.face",
    "vbench.motion_smoothness.face.compat", "vbench.motion_smoothness.face.offline",
    "vbench.motion_smoothness.face.offline_compat", "vbench.motion_smoothness.hands",
    "vbench.motion_smoothness.hands.compat", "vbench.motion_smoothness.hands.offline",
    "vbench.motion_smoothness.hands.offline_compat", "vbench.motion_smoothness.left_hand",
    "vbench.motion_smoothness.left_hand.offline", "vbench.motion_smoothness.offline",
    "vbench.motion_smoothness.right_hand", "vbench.motion_smoothness.right_hand.offline",
    "vbench.subject_consistency", "vbench.subject_consistency.face", "vbench.subject_consistency.face.compat",
    "vbench.subject_consistency.hands", "vbench.subject_consistency.hands.compat",
    "vbench.subject_consistency.left_hand", "vbench.subject_consistency.right_hand"
})


def _package_metrics() -> list[str]:
    # metrics registered by test modules (fakes) are not the package's
    return [m.name for m in list_metrics() if m.__module__.startswith("avatar_eval.")]


def _names_a_part(text: str, name: str) -> bool:
    """The line holds a string literal that is a piece of the name (a table row's key, e.g.
    "subject_consistency" or "arcface"), or an f-string template of the name's family."""
    if f'f"{name.split(".")[0]}.' in text:
        return True
    return any(len(s) >= 3 and s in name for s in re.findall(r'"([^"{}]+)"', text))


def _line(path: str, line: int) -> str:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert 1 <= line <= len(lines), (path, line, len(lines))
    return lines[line - 1]


def _printed_origin(name: str) -> tuple[str, int, str]:
    res = runner.invoke(app, ["metrics", name])
    assert res.exit_code == 0, res.output
    m = re.search(r"^defined at: (\S+):(\d+)(.*)$", res.output, re.MULTILINE)
    assert m, res.output
    return m.group(1), int(m.group(2)), m.group(3)


def test_every_metric_prints_an_existing_file_and_a_line_that_defines_it():
    names = _package_metrics()
    assert len(names) > 20
    bad = []
    for name in names:
        path, line, tail = _printed_origin(name)
        assert Path(path).is_file(), (name, path)
        text = _line(path, line)
        cls = get_metric_class(name)
        o = origin(name)
        assert (o.path, o.line) == (path, line)
        if o.literal:
            ok = f"class {cls.__name__}" in text or f'"{name}"' in text or f"'{name}'" in text
            assert tail.strip() == ""
        else:
            # a table row or the template that assembles the name: one of its parts is on the line
            ok = _names_a_part(text, name)
            assert "assembled" in tail
        if not ok:
            bad.append(f"{name}: {path}:{line}: {text.strip()}")
    assert not bad, "origin() lines that do not name the metric:\n" + "\n".join(bad)


def test_names_not_findable_by_grep_are_exactly_the_allow_list():
    not_literal = set()
    for name in _package_metrics():
        o = origin(name)
        text = Path(o.path).read_text(encoding="utf-8")
        in_source = f'"{name}"' in text or f"'{name}'" in text
        if not o.literal:
            not_literal.add(name)
        else:
            assert in_source, f"{name}: origin() says literal but grep finds no quoted name in {o.path}"
    new = sorted(not_literal - NOT_A_LITERAL)
    stale = sorted(NOT_A_LITERAL & set(_package_metrics()) - not_literal)
    gone = sorted(NOT_A_LITERAL - set(_package_metrics()))
    assert not new, "metric names not findable by grep as a literal; write them as literals / table rows, " \
        "or add them to NOT_A_LITERAL: " + ", ".join(new)
    assert not stale, "now findable as literals: take them off NOT_A_LITERAL: " + ", ".join(stale)
    assert not gone, "no longer registered: take them off NOT_A_LITERAL: " + ", ".join(gone)


def test_origin_of_a_class_metric_is_its_class_statement():
    o = origin("theval.global_aesthetics")
    assert o.how == "class" and o.literal
    assert _line(o.path, o.line).lstrip().startswith("class ")


@pytest.mark.parametrize("name, row", [
    ("vbench.subject_consistency.face", '("subject_consistency",'),
    ("vbench.dynamic_degree.face.offline", '("dynamic_degree", "offline", "dis",'),
    ("vbench.motion_smoothness.hands.offline_compat", '("motion_smoothness", "offline", "dis",'),
    ("vbench.dynamic_degree", '("dynamic_degree", "paper", "raft",'),
])
def test_origin_of_a_table_metric_is_its_row(name, row):
    o = origin(name)
    assert o.how == "table-row" and not o.literal
    assert row in _line(o.path, o.line)


def test_unknown_metric_exits_2():
    res = runner.invoke(app, ["metrics", "theval.lip_dynamix"])
    assert res.exit_code == 2
    assert "theval.lip_dynamics" in res.output


def test_metrics_list_fits_80_columns():
    """Issue 16: one line per metric in an 80-column terminal, every name whole."""
    res = runner.invoke(app, ["metrics"], env={"COLUMNS": "80"})
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert max(len(x) for x in lines) <= 80, [x for x in lines if len(x) > 80][:3]
    firsts = {x.split()[0] for x in lines if x.strip()}
    assert {m.name for m in list_metrics()} <= firsts
