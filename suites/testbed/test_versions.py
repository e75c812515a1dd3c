"""The air-gapped builds read the versions the testbed reads: the Kubernetes version from the
drawing file (by a shell script, without a YAML parser), the stand-ins' tags as versions.env."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testbed import images
from testbed.settings import DRAWING, DRAWING_FILE, REPO, Settings

READER = REPO / "airgap" / "kubernetes-version.sh"


def shell_kubernetes_version(drawing_file: Path) -> subprocess.CompletedProcess[str]:
    """What airgap/kubernetes-version.sh sets, as build.sh and build-node-image.sh source it."""
    script = f'set -euo pipefail; . "{READER}"; printf %s "$KUBERNETES_VERSION"'
    return subprocess.run(
        ["bash", "-c", script],
        env={"DRAWING_FILE": str(drawing_file), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_builds_read_the_drawings_kubernetes_version() -> None:
    done = shell_kubernetes_version(DRAWING_FILE)
    assert done.returncode == 0, done.stderr
    assert done.stdout == DRAWING.kubernetes_version
    assert Settings().airgap["KUBERNETES_VERSION"] == DRAWING.kubernetes_version


def test_the_builds_follow_a_changed_drawing(tmp_path: Path) -> None:
    """The control: the shell reader reads the file (a copy with another version gives that)."""
    copy = tmp_path / "drawing.yaml"
    text = DRAWING_FILE.read_text()
    copy.write_text(text.replace(f"kubernetes: {DRAWING.kubernetes_version}", "kubernetes: v9.8.7"))
    assert shell_kubernetes_version(copy).stdout == "v9.8.7"


def test_a_drawing_without_the_version_stops_the_builds(tmp_path: Path) -> None:
    copy = tmp_path / "drawing.yaml"
    copy.write_text(DRAWING_FILE.read_text().replace("  kubernetes: ", "  kube: "))
    done = shell_kubernetes_version(copy)
    assert done.returncode != 0
    assert "kubernetes:" in done.stderr


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("demo-micro-airgap/ferretdb:", "FERRETDB_VERSION"),
        ("demo-micro-airgap/moto:", "MOTO_VERSION"),
        ("demo-micro-airgap/opensearch:", "OPENSEARCH_VERSION"),
        ("demo-micro-airgap/log-shipper:", "RSYSLOG_VERSION"),
    ],
)
def test_the_drawings_air_gapped_images_are_the_ones_the_builds_tag(
    image: str, version: str
) -> None:
    """airgap/images/build-*.sh tag the stand-ins with versions.env's versions (without a `v`)."""
    named = [i for i in images.offline_drawing_images() if i.startswith(image)]
    built = image + Settings().airgap[version].removeprefix("v")
    assert named == [built]


def test_the_offline_images_to_load_include_the_log_paths() -> None:
    settings = Settings()
    assert set(images.offline_logging_images(settings)) <= set(
        images.offline_images_to_load(settings)
    )
