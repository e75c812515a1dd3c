"""An overlay's folder becomes plain objects: plain YAML files read, a kustomization rendered by
the command given, and a folder that cannot be either is named with the reason."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from kubepromises.manifests import ManifestsError, render

SHOP_MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "shop" / "manifests"

#: A stand-in for kustomize: prints the folder it is given as one ConfigMap's data.
FAKE_KUSTOMIZE = """
import sys
print("kind: ConfigMap\\nmetadata: {name: rendered}\\ndata: {folder: '%s'}\\n---\\n" % sys.argv[1])
"""


def test_plain_yaml_files_are_read_in_name_order_every_document_once(tmp_path: Path) -> None:
    # arrange: the shop's manifest files without their kustomization, a plain folder
    plain = tmp_path / "plain"
    shutil.copytree(SHOP_MANIFESTS, plain, ignore=shutil.ignore_patterns("kustomization.yaml"))
    # act
    objects = render(plain)
    # assert
    names = [f"{o['kind']}/{o['metadata']['name']}" for o in objects]
    assert names[0] == "Deployment/cart-cache"  # cart-cache.yaml sorts first
    assert "Namespace/shop" in names
    assert len(names) == len(set(names)) == 18  # 6 files: 3 + 3 + 3 + 1 + 2 + 6 documents


def test_a_kustomization_is_rendered_by_the_command_given(tmp_path: Path) -> None:
    # arrange
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    fake = tmp_path / "fake_kustomize.py"
    fake.write_text(FAKE_KUSTOMIZE)
    # act
    objects = render(tmp_path, [sys.executable, str(fake)])
    # assert: the command got the folder; its empty trailing document is dropped
    assert objects == [
        {"kind": "ConfigMap", "metadata": {"name": "rendered"}, "data": {"folder": str(tmp_path)}}
    ]


def test_a_failing_render_names_the_folder_and_its_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [gone.yaml]\n")
    command = [sys.executable, "-c", "import sys; sys.exit('gone.yaml: no such file')"]
    with pytest.raises(ManifestsError, match=r"rendering .* failed: .*\ngone.yaml: no such file"):
        render(tmp_path, command)


def test_a_missing_or_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestsError, match="nowhere does not exist"):
        render(tmp_path / "nowhere")
    with pytest.raises(ManifestsError, match="holds no kustomization and no"):
        render(tmp_path)
