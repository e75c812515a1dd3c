"""Which kustomize renders the overlays on this machine (kubepromises renders them with it:
suites/static/conftest.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Where airgap/go/build-kustomize.sh installs a kustomize built from the Go module proxy.
CACHED_KUSTOMIZE = (
    Path(os.environ.get("DEMO_MICRO_CACHE", "/var/cache/demo-micro")) / "bin/kustomize"
)


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
