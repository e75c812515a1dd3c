"""The pytest plugin (entry point `kubepromises`): a drawing file for the session, its manifests.

- `--drawing PATH`: the drawing file (default: `drawing.yaml` in the rootdir, when there is
  one). It is read when pytest starts: a drawing with a mistake stops the session with the
  reader's list of mistakes (file:line: field: what is wrong), before any collection.
- `--kustomize COMMAND`: the command that renders a kustomization given as its last argument
  (default: `kubectl kustomize` or `kustomize build` from PATH).
- fixtures: `drawing` (the parsed drawing, session), `kustomize_command` (override it to supply
  a renderer), `rendered_manifests` (each overlay's objects, rendered once per session).
- a test that takes `drawing_overlay` runs once per overlay of the drawing; one that takes
  `drawing_service` once per service of the drawing.
- the live suite's cluster: `--live-kubeconfig PATH` (`--live-context NAME`) and the overlay
  deployed there, `--live-overlay NAME` (default: the drawing's only overlay); fixtures
  `live_api` (a `kubernetes.client.ApiClient`) and `live_overlay`, which a project that
  brings up its own cluster overrides.
- the live suite's destructive checks (a pod deleted, a rollout, a node lost...) run only with
  `--allow-destructive=CONTEXT` naming the context checked (`kubepromises.guard`); otherwise
  each is reported as not verified on this target. Fixture `destructive`, which a project
  that brings up its own cluster overrides.
- the promise matrix (`kubepromises.report`): when the drawing names a promises file, each
  promise's verdict from its claimed tests, first in the HTML report, in `promises.json`
  (`--promises-json`) and the terminal.

Without `--drawing` and without a `drawing.yaml` in the rootdir the plugin does nothing, so it
loads harmlessly into any pytest run; only a test that asks for the drawing fails, saying so.
The generic static suite: `pytest --pyargs kubepromises.static_suite --drawing PATH`; the live
one: `pytest --pyargs kubepromises.live_suite --drawing PATH --live-kubeconfig PATH`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from kubepromises import guard
from kubepromises.drawing import Drawing, DrawingError, load_drawing
from kubepromises.manifests import ManifestsError, Obj, kustomize_on_path, render
from kubepromises.report import plugin as report

DEFAULT_DRAWING = "drawing.yaml"

#: The session's drawing, None when no drawing file was given or found.
DRAWING_KEY = pytest.StashKey[Drawing | None]()
#: Why the live suite's destructive checks may not run (None: they may), decided at start-up.
REFUSAL_KEY = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kubepromises", "architecture drawing (kubepromises)")
    group.addoption(
        "--drawing",
        metavar="PATH",
        default=None,
        help=f"the drawing file the promises are read from (default: {DEFAULT_DRAWING} in the "
        "rootdir, when there is one)",
    )
    group.addoption(
        "--kustomize",
        metavar="COMMAND",
        default=None,
        help="the command that renders a kustomization folder given as its last argument "
        "(default: 'kubectl kustomize' or 'kustomize build' from PATH)",
    )
    group.addoption(
        "--live-kubeconfig",
        metavar="PATH",
        default=None,
        help="the kubeconfig of the cluster the live suite checks (kubepromises.live_suite)",
    )
    group.addoption(
        "--live-context",
        metavar="NAME",
        default=None,
        help="the kubeconfig's context to use (default: its current context)",
    )
    group.addoption(
        "--live-overlay",
        metavar="NAME",
        default=None,
        help="the drawing's overlay deployed on that cluster (default: its only overlay)",
    )
    group.addoption(
        "--allow-destructive",
        metavar="CONTEXT",
        default=None,
        help="let the live suite's destructive checks (pods deleted, rollouts, scalings, a node "
        "lost) change the cluster of this kubeconfig context, which must be the one checked; "
        "without it they are reported as not verified on this target",
    )
    report.addoption(parser)


def drawing_file(config: pytest.Config) -> Path | None:
    """The drawing file the session reads: --drawing, else the rootdir's, else None."""
    given: str | None = config.getoption("--drawing")
    if given is not None:
        path = Path(given)
        return path if path.is_absolute() else config.invocation_params.dir / path
    default = config.rootpath / DEFAULT_DRAWING
    return default if default.is_file() else None


def pytest_configure(config: pytest.Config) -> None:
    """Read the drawing now: a mistake stops the session before collection, as a usage error."""
    path = drawing_file(config)
    if path is not None and not path.is_file():
        raise pytest.UsageError(f"--drawing {path}: no such file")
    try:
        drawing = load_drawing(path.resolve()) if path is not None else None
    except DrawingError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[DRAWING_KEY] = drawing
    report.configure(config, drawing)
    kubeconfig: str | None = config.getoption("--live-kubeconfig")
    if kubeconfig is not None and not Path(kubeconfig).is_file():
        raise pytest.UsageError(f"--live-kubeconfig {kubeconfig}: no such file")
    config.stash[REFUSAL_KEY] = destructive_refusal(config, drawing)
    overlay: str | None = config.getoption("--live-overlay")
    if overlay is not None and drawing is not None:
        names = [o.name for o in drawing.overlays]
        if overlay not in names:
            raise pytest.UsageError(
                f"--live-overlay {overlay}: {drawing.path.name} has no such overlay (its "
                f"overlays: {', '.join(names)})"
            )


def destructive_refusal(config: pytest.Config, drawing: Drawing | None) -> str | None:
    """`guard.refusal` for this session's options; a bad --allow-destructive stops it, before
    any test, as a usage error."""
    allowed: str | None = config.getoption("--allow-destructive")
    kubeconfig: str | None = config.getoption("--live-kubeconfig")
    chosen: str | None = config.getoption("--live-context")
    try:
        target = guard.read_context(Path(kubeconfig), chosen) if kubeconfig else None
        namespace = drawing.namespace if drawing is not None else ""
        return guard.refusal(allowed, target, namespace)
    except guard.GuardError as error:
        raise pytest.UsageError(str(error)) from None


def session_drawing(config: pytest.Config) -> Drawing:
    """The session's drawing; a test that needs one fails (without a traceback) when none."""
    drawing = config.stash.get(DRAWING_KEY, None)
    if drawing is None:
        pytest.fail(
            f"no drawing file: give --drawing PATH, or put {DEFAULT_DRAWING} in the rootdir "
            f"({config.rootpath})",
            pytrace=False,
        )
    return drawing


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `drawing_overlay` runs once per overlay of the drawing."""
    if "drawing_overlay" in metafunc.fixturenames:
        overlays = [overlay.name for overlay in session_drawing(metafunc.config).overlays]
        metafunc.parametrize("drawing_overlay", overlays, scope="session")
    if "drawing_service" in metafunc.fixturenames:
        services = [service.name for service in session_drawing(metafunc.config).services]
        metafunc.parametrize("drawing_service", services, scope="session")


@pytest.fixture(scope="session")
def drawing(pytestconfig: pytest.Config) -> Drawing:
    """The architecture drawing of the session (--drawing), read and checked."""
    return session_drawing(pytestconfig)


@pytest.fixture(scope="session")
def kustomize_command(pytestconfig: pytest.Config) -> Sequence[str] | None:
    """The command that renders a kustomization (--kustomize, else one found on PATH)."""
    given: str | None = pytestconfig.getoption("--kustomize")
    return shlex.split(given) if given else kustomize_on_path()


@pytest.fixture(scope="session")
def rendered_manifests(
    drawing: Drawing, kustomize_command: Sequence[str] | None
) -> Mapping[str, Sequence[Obj]]:
    """Each overlay's objects, from the folder the drawing names, rendered once."""
    rendered: dict[str, Sequence[Obj]] = {}
    for overlay in drawing.overlays:
        try:
            rendered[overlay.name] = tuple(
                render(drawing.manifests_dir(overlay.name), kustomize_command)
            )
        except ManifestsError as error:
            pytest.fail(f"overlay {overlay.name!r}: {error}", pytrace=False)
    return rendered


@pytest.fixture(scope="session")
def live_api(pytestconfig: pytest.Config) -> Any:
    """An API client of the cluster the live suite checks (--live-kubeconfig, --live-context)."""
    path: str | None = pytestconfig.getoption("--live-kubeconfig")
    if path is None:
        pytest.fail(
            "no cluster to check: give --live-kubeconfig PATH (or override the live_api fixture)",
            pytrace=False,
        )
    from kubernetes import config

    return config.new_client_from_config(
        config_file=path, context=pytestconfig.getoption("--live-context")
    )


@pytest.fixture(scope="session")
def live_overlay(pytestconfig: pytest.Config, drawing: Drawing) -> str:
    """The drawing's overlay deployed on the live cluster (--live-overlay, else its only one)."""
    given: str | None = pytestconfig.getoption("--live-overlay")
    names = [overlay.name for overlay in drawing.overlays]
    if given is not None:
        return given  # checked against the drawing when pytest started
    if len(names) != 1:
        pytest.fail(
            f"--live-overlay: which of {drawing.path.name}'s overlays is deployed "
            f"({', '.join(names)})?",
            pytrace=False,
        )
    return names[0]


@pytest.fixture(scope="session")
def destructive(pytestconfig: pytest.Config) -> None:
    """Taken by each check that changes the cluster: it is skipped, as not verified on this
    target with the reason, unless --allow-destructive names the context checked. A project
    that brings up its own cluster overrides it (with a fixture that returns)."""
    reason = pytestconfig.stash.get(REFUSAL_KEY, f"{guard.NOT_VERIFIED}: no decision was made")
    if reason is not None:
        pytest.skip(reason)
