"""An overlay's manifests as plain objects: a kustomization rendered, or plain YAML files read.

A folder with a `kustomization.yaml` is rendered by kustomize (the command given, else `kubectl
kustomize` or `kustomize build` from PATH); any other folder is read as it is, every `*.yaml` and
`*.yml` file sorted by name, each document one object.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
RENDER_TIMEOUT_SECONDS = 60


class ManifestsError(RuntimeError):
    """An overlay's folder that cannot be read or rendered; the message says why."""


def kustomize_on_path() -> list[str] | None:
    """`kubectl kustomize` or `kustomize build` from PATH, None when neither is there."""
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    return None


def is_kustomization(folder: Path) -> bool:
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def render(folder: Path, kustomize: Sequence[str] | None = None) -> list[Obj]:
    """The objects a folder holds (plain YAML) or renders to (kustomize), as they come.

    `kustomize` is the command that renders a kustomization given as its last argument; None
    looks for one on PATH.
    """
    if not folder.is_dir():
        raise ManifestsError(f"the manifests folder {folder} does not exist")
    if is_kustomization(folder):
        return _kustomize(folder, kustomize)
    files = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise ManifestsError(f"{folder} holds no kustomization and no *.yaml file")
    objects: list[Obj] = []
    for path in files:
        try:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        except yaml.YAMLError as error:
            raise ManifestsError(f"{path} is not YAML: {error}") from None
    return objects


def _kustomize(folder: Path, kustomize: Sequence[str] | None) -> list[Obj]:
    command = list(kustomize) if kustomize else kustomize_on_path()
    if command is None:
        raise ManifestsError(
            f"{folder} is a kustomization: rendering it needs kubectl (it embeds kustomize) or a "
            "kustomize binary on PATH, or the command given with --kustomize"
        )
    command.append(str(folder))
    try:
        result = subprocess.run(
            command, check=True, timeout=RENDER_TIMEOUT_SECONDS, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        raise ManifestsError(
            f"rendering {folder} failed: {' '.join(command)}\n{error.stderr}"
        ) from error
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
