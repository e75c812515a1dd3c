"""The promises file a drawing names is read with it, and a mistake in it is named by file,
field and line before anything runs.

The drawing is the shop example's, which names `promises.yaml`; the promises file is the small
one below, in place of the shop's own. Each broken copy is that file with one edit; the unedited
copy loads (the control), so the error is the edit's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kubepromises import DrawingError, load_drawing
from tests.kubepromises.example import SHOP_DRAWING

PROMISES = """\
promises:
  auto-healing:
    source: key features
    title: Auto-healing
    drawing: Kubernetes {kubernetes_minor} restarts failed pods
    tests:
      - suites/resilience/test_self_healing.py
    figures:
      - label: time to Ready after a pod is deleted
        pattern: time_to_ready_seconds.*
        slo: ready
      - label: traffic while a pod was replaced
        pattern: self_healing_traffic.*
    power:
      trial: pod kill
      control: suites/resilience/test_self_healing.py::test_negative_control_unsafe_kill
      caught: 11
      of: 16
      measured: the testbed, 29 Nov 2026
  external-access:
    source: external access
    title: External access
    drawing: The shop on its host
    tests: [suites/static/test_external_access.py]
    verify_in: [online]
    why_not: "offline: no route to the host"
"""


def shop_with_promises(folder: Path, old: str = "", new: str = "") -> tuple[Path, int]:
    """The shop drawing naming a promises file, that file with `old` (once in it) replaced by
    `new`, and the edited line."""
    assert PROMISES.count(old) == 1 or not old, f"{old!r} is not unique in the promises file"
    line = PROMISES[: PROMISES.index(old)].count("\n") + 1
    shutil.copytree(SHOP_DRAWING.parent, folder, dirs_exist_ok=True)  # with its build contexts
    drawing = folder / "drawing.yaml"  # names its promises file, replaced here
    (folder / "promises.yaml").write_text(PROMISES.replace(old, new) if old else PROMISES)
    return drawing, line


def assert_caught(drawing: Path, field: str, line: int, words: str) -> None:
    """Loading fails, changing no file, and one problem names the field, the line and the
    mistake."""
    files = sorted(drawing.parent.glob("*.yaml"))
    before = [path.read_bytes() for path in files]
    with pytest.raises(DrawingError) as caught:
        load_drawing(drawing)
    assert [path.read_bytes() for path in files] == before, "loading changed a file"
    found = [p for p in caught.value.problems if p.field == field]
    assert found, f"no problem names {field}:\n{caught.value}"
    assert found[0].file == "promises.yaml"
    assert found[0].line == line, f"{field} reported at line {found[0].line}, not {line}"
    assert words in found[0].message, found[0].message
    assert f"promises.yaml:{line}: {field}: " in str(caught.value)


def test_the_unedited_promises_load_with_their_slos_and_the_drawings_values(
    tmp_path: Path,
) -> None:
    """The control for every broken copy below."""
    drawing_file, _ = shop_with_promises(tmp_path)
    drawing = load_drawing(drawing_file)
    healing, access = drawing.promises
    assert (healing.key, access.key) == ("auto-healing", "external-access")
    minor = drawing.kubernetes_version.rsplit(".", 1)[0]
    assert healing.drawing == f"Kubernetes {minor} restarts failed pods"
    timed, shown = healing.figures
    assert timed.slo == drawing.slo("ready")
    assert timed.unit == drawing.slo("ready").unit  # the SLO gives the unit
    assert (shown.slo, shown.unit) == (None, "")
    assert (healing.verify_in, access.verify_in) == (None, ("online",))
    assert (healing.power is not None, access.power) == (True, None)


@pytest.mark.parametrize(
    ("caught", "of", "repeats", "chance"),
    [
        (11, 16, 3, "96%"),  # two kills would catch it with 89 % only
        (1, 2, 5, "97%"),
        (19, 20, 2, "99%"),
        (20, 20, 1, "95%"),
        (10, 10, 2, "99%"),  # ten catches in ten trials do not prove a trial never misses
        (1, 10, 17, "95%"),
    ],
)
def test_a_stated_power_repeats_the_fault_until_an_unsafe_configuration_is_caught_with_95(
    tmp_path: Path, caught: int, of: int, repeats: int, chance: str
) -> None:
    drawing_file, _ = shop_with_promises(
        tmp_path, "      caught: 11\n      of: 16\n", f"      caught: {caught}\n      of: {of}\n"
    )
    power = load_drawing(drawing_file).promises[0].power
    assert power is not None
    assert power.repeats == repeats
    missed = (of - caught + 1) / (of + 2)
    assert missed**repeats <= 0.05 < missed ** (repeats - 1) or repeats == 1
    times = "once" if repeats == 1 else f"{repeats} times"
    assert str(power).startswith(f"pod kill, {times}: {chance} to catch")
    assert f"in {caught} of {of} single trials (the testbed, 29 Nov 2026)" in str(power)


def test_a_drawing_without_a_promises_file_has_no_promises(tmp_path: Path) -> None:
    shutil.copytree(SHOP_DRAWING.parent, tmp_path, dirs_exist_ok=True)
    drawing = tmp_path / "drawing.yaml"
    drawing.write_text(drawing.read_text().replace("promises: promises.yaml\n", ""))
    assert (load_drawing(drawing).promises, load_drawing(drawing).verified_against) == ((), ())
    # the control: the shop's own drawing names its promises
    assert load_drawing(SHOP_DRAWING).promises != ()


@pytest.mark.parametrize(
    ("old", "new", "field", "words", "at"),
    [
        pytest.param(
            "    title: Auto-healing\n",
            "    title: Auto-healing\n    owner: ops\n",
            "promises.auto-healing.owner",
            "unknown field",
            "    owner: ops",
            id="unknown-field",
        ),
        pytest.param(
            "    title: Auto-healing\n",
            "",
            "promises.auto-healing.title",
            "missing",
            "    source: key features",
            id="missing-field",
        ),
        pytest.param(
            "    tests: [suites/static/test_external_access.py]",
            "    tests: []",
            "promises.external-access.tests",
            "should be non-empty",
            "    tests: []",
            id="no-test",
        ),
        pytest.param(
            "    tests: [suites/static/test_external_access.py]",
            "    tests: [kubepromises.static-suite::test_x]",
            "promises.external-access.tests[0]",
            "'kubepromises.static-suite::test_x': not a test's name: a path relative to the "
            "rootdir (dir/test_x.py, or a folder dir/) or a dotted module name (package.module)",
            "    tests: [kubepromises.static-suite",
            id="test-named-neither-by-path-nor-by-module",
        ),
        pytest.param(
            '    why_not: "offline: no route to the host"\n',
            '    why_not: "offline: no route to the host"\nverified_against: {x y: z}\n',
            "verified_against",
            "'x y': not a test's name",
            "verified_against: {x y: z}",
            id="verified-against-a-name-that-is-no-test",
        ),
        pytest.param(
            "        slo: ready",
            "        slo: redy",
            "promises.auto-healing.figures[0].slo",
            "the drawing has no SLO 'redy' (its slos: ready, node-loss, scale-out)",
            "        slo: redy",
            id="figure-naming-an-unknown-slo",
        ),
        pytest.param(
            "        slo: ready",
            "        slo: ready\n        unit: ms",
            "promises.auto-healing.figures[0].unit",
            "the SLO 'ready' gives the unit",
            "        unit: ms",
            id="unit-beside-an-slo",
        ),
        pytest.param(
            "    verify_in: [online]",
            "    verify_in: [onlin]",
            "promises.external-access.verify_in[0]",
            "'onlin' is not one of ['offline', 'online']",
            "    verify_in: [onlin]",
            id="mode-not-offline-or-online",
        ),
        pytest.param(
            '    why_not: "offline: no route to the host"\n',
            "",
            "promises.external-access.verify_in",
            "a mode is left out: say why in why_not",
            "    verify_in: [online]",
            id="mode-left-out-without-why",
        ),
        pytest.param(
            "    verify_in: [online]\n",
            "",
            "promises.external-access.why_not",
            "verify_in leaves no mode out",
            "    why_not:",
            id="why-not-without-a-mode-left-out",
        ),
        pytest.param(
            "      caught: 11",
            "      caught: 17",
            "promises.auto-healing.power.caught",
            "caught 17 of 16: more than were run",
            "      caught: 17",
            id="power-caught-more-than-run",
        ),
        pytest.param(
            "      caught: 11",
            "      caught: 0",
            "promises.auto-healing.power.caught",
            "0 is less than the minimum of 1",
            "      caught: 0",
            id="power-from-a-control-that-never-caught",
        ),
        pytest.param(
            "test_self_healing.py::test_negative_control_unsafe_kill",
            "test_rolling_update.py::test_negative_control_unsafe_kill",
            "promises.auto-healing.power.control",
            "the negative control is not among the promise's tests",
            "      control:",
            id="power-control-not-among-the-tests",
        ),
        pytest.param(
            "  external-access:",
            "  auto-healing:",
            "promises.auto-healing",
            "given twice",
            "  auto-healing:",
            id="duplicate-promise-key",
        ),
        pytest.param(
            "    source: external access",
            "    source: external",
            "promises.external-access.source",
            "is not one of",
            "    source: external",
            id="unknown-source",
        ),
        pytest.param(
            "{kubernetes_minor}",
            "{kubernetes}",
            "promises.auto-healing.drawing",
            "no value is named {kubernetes} (the values: kubernetes_minor)",
            "{kubernetes}",
            id="unknown-value-in-the-words",
        ),
        pytest.param(
            "{kubernetes_minor}",
            "{kubernetes_minor",
            "promises.auto-healing.drawing",
            "not a value in braces",
            "{kubernetes_minor",
            id="lone-brace-in-the-words",
        ),
    ],
)
def test_a_mistake_in_the_promises_is_named_by_file_field_and_line(
    tmp_path: Path, old: str, new: str, field: str, words: str, at: str
) -> None:
    """`at`: the text of the line the mistake is reported at (the last line holding it): the
    edited line, or for a missing field the first line of the mapping that lacks it."""
    drawing, _ = shop_with_promises(tmp_path, old, new)
    lines = (tmp_path / "promises.yaml").read_text().splitlines()
    line = max(number for number, text in enumerate(lines, start=1) if at in text)
    assert_caught(drawing, field, line, words)


def test_a_promises_file_that_does_not_exist_is_named_at_the_drawings_field(
    tmp_path: Path,
) -> None:
    drawing, _ = shop_with_promises(tmp_path)
    (tmp_path / "promises.yaml").unlink()
    with pytest.raises(DrawingError) as caught:
        load_drawing(drawing)
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("drawing.yaml", "promises")
    assert problem.line == len(drawing.read_text().splitlines())
    assert problem.message == "no file promises.yaml beside drawing.yaml"


def test_a_promises_file_that_is_not_yaml_is_named_by_file_and_line(tmp_path: Path) -> None:
    drawing, line = shop_with_promises(tmp_path, "    tests: [suites/", "    tests: [[suites/")
    with pytest.raises(DrawingError) as caught:
        load_drawing(drawing)
    (problem,) = caught.value.problems
    assert problem.file == "promises.yaml"
    assert problem.message.startswith("not YAML")
    assert line <= problem.line <= line + 1
