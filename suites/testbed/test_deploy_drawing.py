"""`python -m testbed deploy-drawing`: bad input stops it with a clear error (exit code 2)
before anything changes, and what it builds, loads and applies is read from the drawing alone.

"Nothing changes" is checked by making every way out of the process (a command, a registry
probe) fail the test: the error must come first.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from kubepromises import load_drawing
from testbed.__main__ import main
from testbed.deploy_drawing import GENERIC_SUITES, BadInput, check_command, chosen_overlay, plan

REPO = Path(__file__).resolve().parents[2]
#: A drawing whose services say how their images are built, with an air-gapped overlay.
EXAMPLE = REPO / "examples" / "shop" / "drawing.yaml"


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """No command and no network: the command must stop before it reaches either."""

    def refused(*args: object, **kwargs: object) -> None:
        pytest.fail(f"bad input went on to run something: {args!r}")

    monkeypatch.setattr(subprocess, "run", refused)
    monkeypatch.setattr(subprocess, "Popen", refused)
    monkeypatch.setattr(urllib.request, "urlopen", refused)


@pytest.mark.usefixtures("nothing_runs")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(
            ["nowhere/drawing.yaml"], "no drawing file nowhere/drawing.yaml", id="missing-file"
        ),
        pytest.param(
            [str(EXAMPLE), "--overlay", "onprem"],
            "drawing.yaml has no overlay 'onprem' (it has plain, offline)",
            id="unknown-overlay",
        ),
        pytest.param(
            [str(EXAMPLE), "--overlay", "onprem", "--delete"],
            "has no overlay 'onprem'",
            id="unknown-overlay-on-delete",
        ),
        pytest.param(
            [str(REPO / "drawing.yaml")], "the testbed's own system", id="the-testbeds-own"
        ),
        pytest.param(
            [str(EXAMPLE), "--", "-q"], "arguments after -- go with --check", id="args-no-check"
        ),
        pytest.param([str(EXAMPLE), "--check", "--delete"], "give one", id="check-and-delete"),
    ],
)
def test_bad_input_is_named_with_exit_code_2_and_changes_nothing(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # act
    code = main(["deploy-drawing", *args])
    # assert
    assert code == 2
    assert says in capsys.readouterr().err


@pytest.mark.usefixtures("nothing_runs")
def test_good_input_goes_on_to_run_commands() -> None:
    """The control: the same guard catches a command that does go on."""
    with pytest.raises(pytest.fail.Exception, match="went on to run something"):
        main(["deploy-drawing", str(EXAMPLE), "--overlay", "offline"])


@pytest.mark.usefixtures("nothing_runs")
def test_a_drawing_with_a_mistake_gets_the_readers_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange: the example copied, one replica count not a number
    shutil.copytree(EXAMPLE.parent, tmp_path / "example")
    drawing = tmp_path / "example" / "drawing.yaml"
    load_drawing(drawing)  # the control: unedited, it loads
    drawing.write_text(drawing.read_text().replace("replicas: 3", "replicas: three", 1))
    # act
    code = main(["deploy-drawing", str(drawing)])
    # assert
    assert code == 2
    assert "services[0].replicas: 'three' is not of type 'integer'" in capsys.readouterr().err


def test_the_default_overlay_is_the_drawings_one_of_the_testbeds_mode() -> None:
    drawing = load_drawing(EXAMPLE)
    assert chosen_overlay(drawing, None, offline=True).air_gapped
    assert not chosen_overlay(drawing, None, offline=False).air_gapped
    assert chosen_overlay(drawing, "plain", offline=True).name == "plain"


def test_two_overlays_of_the_mode_ask_for_one_by_name(tmp_path: Path) -> None:
    # arrange: the plain overlay made air-gapped too
    shutil.copytree(EXAMPLE.parent, tmp_path / "example")
    path = tmp_path / "example" / "drawing.yaml"
    path.write_text(path.read_text().replace("air_gapped: false", "air_gapped: true"))
    drawing = load_drawing(path)
    # act and assert
    with pytest.raises(BadInput, match=r"has 2 air-gapped overlays .*: name one with --overlay"):
        chosen_overlay(drawing, None, offline=True)


def test_the_plan_is_read_from_the_drawing() -> None:
    drawing = load_drawing(EXAMPLE)
    # act
    offline = plan(drawing, drawing.overlay("offline"))
    plain = plan(drawing, drawing.overlay("plain"))
    # assert: every build of the drawing, from its folder; air-gapped, the stand-ins are loaded
    builds = [w.build for w in drawing.workloads if w.build is not None]
    assert offline.builds == tuple((b.image, drawing.build_context(b)) for b in builds)
    assert all((context / "Dockerfile").is_file() for _, context in offline.builds)
    stand_ins = [w.image.offline for w in drawing.dependencies if w.image]
    assert list(offline.published) == stand_ins
    assert plain.published == ()
    assert offline.manifests == EXAMPLE.parent / "overlays" / "offline"


def test_the_check_runs_the_generic_suites_with_the_plugin_alone() -> None:
    # arrange
    drawing = load_drawing(EXAMPLE)
    overlay = drawing.overlay("offline")
    # act
    command = check_command(drawing, overlay, Path("/k/config"), ["-q", "-x"])
    # assert: the package's suites, this drawing and cluster, no conftest of this repository
    assert command[1:5] == ["-m", "pytest", "--noconftest", "-p"]
    assert command[command.index("--pyargs") + 1 :][:2] == list(GENERIC_SUITES)
    assert f"--drawing={EXAMPLE}" in command
    assert "--live-kubeconfig=/k/config" in command
    assert "--live-overlay=offline" in command
    assert command[-2:] == ["-q", "-x"]
