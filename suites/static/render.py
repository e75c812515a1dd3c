"""Render a kustomize overlay into plain objects, with whichever kustomize this machine has."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from suites import promises

#: Where airgap/go/build-kustomize.sh installs a kustomize built from the Go module proxy.
CACHED_KUSTOMIZE = (
    Path(os.environ.get("DEMO_MICRO_CACHE", "/var/cache/demo-micro")) / "bin/kustomize"
)
RENDER_TIMEOUT_SECONDS = 60


class RendererMissingError(RuntimeError):
    """Neither kubectl nor kustomize is available."""


def renderer() -> list[str]:
    """The command that renders a kustomization directory given as its last argument."""
    if explicit := os.environ.get("DEMO_MICRO_KUSTOMIZE"):
        return [explicit, "build"]
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    if os.access(CACHED_KUSTOMIZE, os.X_OK):
        return [str(CACHED_KUSTOMIZE), "build"]
    raise RendererMissingError(
        "rendering the manifests needs kubectl (it embeds kustomize) or a kustomize binary, and "
        f"neither is on PATH nor at {CACHED_KUSTOMIZE}. Install kubectl, or build kustomize from "
        "the Go module proxy with `python -m testbed setup fast` (tox runs it) or "
        "airgap/go/build-kustomize.sh, or point DEMO_MICRO_KUSTOMIZE at a kustomize binary."
    )


def render(overlay: str) -> list[dict[str, Any]]:
    """The objects `manifests/overlays/<overlay>` renders to, in kustomize's order."""
    directory = promises.MANIFESTS / "overlays" / overlay
    command = [*renderer(), str(directory)]
    try:
        result = subprocess.run(
            command, check=True, timeout=RENDER_TIMEOUT_SECONDS, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        raise AssertionError(
            f"rendering overlay {overlay!r} failed: {' '.join(command)}\n{error.stderr}"
        ) from error
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
