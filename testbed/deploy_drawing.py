"""`python -m testbed deploy-drawing PATH`: any drawing deployed on the running testbed, from its
data alone.

The drawing says everything this needs: its namespace, the overlay's manifests folder, the
images its services are built into (`build`) and the stand-ins its dependencies run air-gapped
(`image.offline`). The steps are the testbed's own: its Python base and `docker build`
(testbed/images.py), its image loading into the nodes that run pods (Testbed.load_images), its
kubectl. Bad input (no such file, a drawing with mistakes, an overlay it does not have) stops
the command before anything changes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kubepromises import guard
from kubepromises.drawing import Drawing, DrawingError, Overlay, load_drawing
from kubepromises.manifests import is_kustomization
from testbed import images, ingress_namespaces
from testbed.archives import Archive, save_archives
from testbed.cluster import SetupError, Testbed
from testbed.settings import Settings
from testbed.shell import progress

#: How long the workloads have to become Ready once applied: a cold start of the stand-ins
#: (PostgreSQL's initdb) and of the services' probes on the 2-core testbed.
READY_TIMEOUT_SECONDS = 300
DELETE_TIMEOUT_SECONDS = 180
#: The generic suites a deployed drawing is checked with (`--check`).
GENERIC_SUITES = ("kubepromises.static_suite", "kubepromises.live_suite")


class BadInput(ValueError):
    """A drawing file that is missing or has mistakes, or an overlay it does not have."""


def read_drawing(path: Path, own_namespace: str) -> Drawing:
    """The drawing at `path`; BadInput when there is none, it has mistakes, or it is the
    testbed's own system (namespace `own_namespace`, which `python -m testbed up` deploys)."""
    if not path.is_file():
        raise BadInput(f"no drawing file {path}")
    try:
        drawing = load_drawing(path)
    except DrawingError as mistakes:
        raise BadInput(str(mistakes)) from None
    if drawing.namespace == own_namespace:
        raise BadInput(
            f"{path} deploys namespace {own_namespace}, the testbed's own system: "
            "`python -m testbed up` deploys it"
        )
    return drawing


def chosen_overlay(drawing: Drawing, name: str | None, *, offline: bool) -> Overlay:
    """The overlay named, else the drawing's one overlay of the testbed's mode (air-gapped or
    not); BadInput when it has no such overlay, or several to choose from."""
    known = ", ".join(o.name for o in drawing.overlays)
    if name is not None:
        try:
            return drawing.overlay(name)
        except KeyError:
            raise BadInput(
                f"{drawing.path.name} has no overlay {name!r} (it has {known})"
            ) from None
    fitting = [o for o in drawing.overlays if o.air_gapped == offline]
    if len(fitting) != 1:
        kind = "air-gapped" if offline else "online"
        raise BadInput(
            f"{drawing.path.name} has {len(fitting)} {kind} overlays (its overlays: {known}): "
            "name one with --overlay"
        )
    return fitting[0]


@dataclass(frozen=True)
class Plan:
    """What deploying an overlay of a drawing builds, loads and applies."""

    drawing: Drawing
    overlay: Overlay
    #: (image, build context) of each workload the overlay deploys that says how it is built.
    builds: tuple[tuple[str, Path], ...]
    #: The published images the overlay runs that are loaded, not pulled: air-gapped, the
    #: dependencies' stand-ins; online, none (the nodes pull them).
    published: tuple[str, ...]

    @property
    def manifests(self) -> Path:
        return self.drawing.manifests_dir(self.overlay.name)


def plan(drawing: Drawing, overlay: Overlay) -> Plan:
    """The images and manifests of an overlay; BadInput when its manifests folder is missing."""
    folder = drawing.manifests_dir(overlay.name)
    if not folder.is_dir():
        raise BadInput(f"overlay {overlay.name!r}: the manifests folder {folder} does not exist")
    workloads = drawing.workloads_in(overlay.name)
    builds = tuple(
        (w.build.image, drawing.build_context(w.build)) for w in workloads if w.build is not None
    )
    published = tuple(
        w.image.offline
        for w in workloads
        if overlay.air_gapped and w.build is None and w.image and w.image.offline
    )
    return Plan(drawing, overlay, builds, tuple(dict.fromkeys(published)))


class DrawingTestbed(Testbed):
    """The running testbed, seen from a drawing's namespace (`settings.namespace`).

    The image archives are saved in a folder of the namespace's: the testbed's own folder
    keeps only the latest archives of its system and deletes any other.
    """

    def image_archives(self, groups: list[list[str]]) -> list[Archive]:
        ids = self.image_ids([image for group in groups for image in group])
        folder = self.settings.cache / "drawing-archives" / self.settings.namespace
        return save_archives(groups, ids, folder)


def deploy(testbed: DrawingTestbed, plan: Plan) -> None:
    """Build, load, apply, and wait until every workload of the overlay is Ready."""
    started = time.monotonic()
    built = [
        images.build_image(image, context, base=images.python_base(offline=testbed.offline))
        for image, context in plan.builds
    ]
    progress(f"{len(built)} images built in {time.monotonic() - started:.0f} s")
    # Two groups, two archives: the stand-ins change with their versions, the builds with code.
    testbed.load_images([list(plan.published), built])
    applied = time.monotonic()
    flag = "-k" if is_kustomization(plan.manifests) else "-f"
    progress(f"applying {plan.manifests} ({flag}) into namespace {plan.drawing.namespace}")
    testbed.kubectl("apply", flag, str(plan.manifests), timeout=300)
    ingress_namespaces.serve(testbed.kubectl, plan.drawing.namespace)
    # A rebuilt image keeps its tag: pods of the earlier build are rolled out again.
    testbed.restart_stale_workloads()
    testbed.wait_ready(timeout=READY_TIMEOUT_SECONDS)
    progress(
        f"{plan.drawing.path.name} ({plan.overlay.name}) Ready {time.monotonic() - applied:.0f} s "
        f"after the apply, {time.monotonic() - started:.0f} s in all"
    )


def delete(testbed: Testbed, drawing: Drawing) -> None:
    """The drawing's namespace removed, with everything in it (its volumes too)."""
    ingress_namespaces.stop_serving(testbed.kubectl, drawing.namespace)
    progress(f"deleting namespace {drawing.namespace}")
    testbed.kubectl(
        "delete",
        "namespace",
        drawing.namespace,
        "--ignore-not-found",
        f"--timeout={DELETE_TIMEOUT_SECONDS}s",
        timeout=DELETE_TIMEOUT_SECONDS + 30,
    )


def check_command(
    drawing: Drawing,
    overlay: Overlay,
    kubeconfig: Path,
    pytest_args: Sequence[str],
    allow_destructive: str | None = None,
) -> list[str]:
    """kubepromises' generic suites on the deployed overlay, run as any user of the package runs
    them: its pytest plugin alone (`--noconftest`: none of this repository's conftest files).
    `allow_destructive` names the testbed's own context: the cluster it made, which the
    destructive checks (pods deleted, rollouts, a node lost) may change."""
    allowed = [f"--allow-destructive={allow_destructive}"] if allow_destructive else []
    return [
        sys.executable,
        "-m",
        "pytest",
        "--noconftest",
        "-p",
        "no:cacheprovider",
        "--pyargs",
        *GENERIC_SUITES,
        f"--drawing={drawing.path}",
        f"--live-kubeconfig={kubeconfig}",
        f"--live-overlay={overlay.name}",
        *allowed,
        *pytest_args,
    ]


def main(
    path: Path,
    *,
    overlay: str | None,
    remove: bool,
    settings: Settings,
    check: Sequence[str] | None = None,
) -> int:
    """The command: BadInput before anything changes; SetupError without a running testbed.
    With `check` (pytest's arguments), the generic suites run on the deployed overlay after it,
    and their exit code is returned."""
    drawing = read_drawing(path, settings.namespace)
    if overlay is not None:  # checked before the testbed's mode is known
        chosen_overlay(drawing, overlay, offline=False)
    testbed = DrawingTestbed(replace(settings, namespace=drawing.namespace))
    chosen = (
        None if remove else plan(drawing, chosen_overlay(drawing, overlay, offline=testbed.offline))
    )
    if not testbed.exists():
        raise SetupError(
            f"no cluster named {settings.cluster_name}: run `python -m testbed up` first"
        )
    if chosen is None:
        delete(testbed, drawing)
        return 0
    deploy(testbed, chosen)
    if check is None:
        return 0
    context = guard.read_context(settings.kubeconfig)  # the testbed's: it made this cluster
    command = check_command(drawing, chosen.overlay, settings.kubeconfig, check, context)
    progress(f"checking it: {' '.join(command[1:])}")
    return subprocess.run(command, check=False).returncode
