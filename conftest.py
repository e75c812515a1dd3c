"""Project-wide pytest wiring: the live testbed as a session fixture, and diagnostics on failure.

Suites marked `cluster` need the kind testbed. They run with `--cluster` (create the cluster or
reuse one of the same name, deploy, wait until ready), or when the command line names live
suites only (`pytest suites/resilience`: the rule is in testbed/live.py; `--no-cluster` opts
out), and are skipped otherwise, with a reason that says how to enable them. pytest-kind-ng's
`--keep-cluster` keeps a cluster the run created (one it found is never deleted), and
`--cluster-name` picks its name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent

#: The promise matrix in the reports, the `timeline` fixture.
pytest_plugins = ["suites.reporting.plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("demo-micro")
    group.addoption(
        "--cluster",
        action="store_true",
        help="run the live suites: bring up (or reuse) the kind testbed first (the default "
        "when every path argument lies in a live suite: smoke, conformance, resilience, ...)",
    )
    group.addoption(
        "--no-cluster",
        action="store_true",
        help="never bring up the testbed, even for live suites named by path (their tests skip)",
    )
    group.addoption(
        "--testbed-mode",
        choices=["auto", "online", "offline"],
        default=None,
        help="online (pull upstream images) or offline (air-gapped build); default auto",
    )
    group.addoption(
        "--testbed-reuse",
        action="store_true",
        help="use the running testbed as it is: no image builds, loads or redeploys",
    )
    # A cluster the testbed did not create (`python -m testbed attach` deployed the system there).
    target = parser.getgroup("demo-micro target")
    target.addoption(
        "--target-kubeconfig",
        metavar="PATH",
        default=None,
        help="run the live suites against this cluster instead of the kind testbed (deployed by "
        "`python -m testbed attach`); needs --target-registry",
    )
    target.addoption(
        "--target-context", metavar="NAME", default=None, help="its context (default: current)"
    )
    target.addoption(
        "--target-registry",
        metavar="HOST:PORT",
        default=None,
        help="the registry its images were pushed to (what the pods run is checked against it)",
    )
    # The fault campaign's, here because two suites read them (suites/campaign on the local
    # stack, suites/campaign_live on the testbed) and either may run alone.
    campaign = parser.getgroup("demo-micro campaign")
    campaign.addoption(
        "--campaign-seed", type=int, default=None, help="replay the fault campaign of this seed"
    )
    campaign.addoption(
        "--campaign-minutes",
        "--minutes",
        dest="campaign_minutes",
        type=float,
        default=None,
        help="run the campaign's operations for this many minutes (the long campaign)",
    )


#: Set when --cluster was implied by the path arguments (for the terminal line).
CLUSTER_IMPLIED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Live suites named by path run against the testbed, as with --cluster (testbed/live.py)."""
    from testbed.live import wants_cluster

    given = config.getoption("--cluster")
    from_command_line = config.args_source == pytest.Config.ArgsSource.ARGS
    try:
        wanted = wants_cluster(
            cluster=given,
            no_cluster=config.getoption("--no-cluster"),
            args=config.args if from_command_line else [],
            invocation_dir=config.invocation_params.dir,
        )
    except ValueError as contradiction:
        raise pytest.UsageError(str(contradiction)) from None
    if bool(config.getoption("--target-kubeconfig")) != bool(config.getoption("--target-registry")):
        raise pytest.UsageError("--target-kubeconfig and --target-registry go together")
    config.option.cluster = wanted
    config.stash[CLUSTER_IMPLIED] = wanted and not given


def announce_implied_cluster(config: pytest.Config) -> None:
    """Say, before any test, that the testbed comes up although --cluster was not given."""
    from testbed.settings import Settings

    name = config.getoption("--cluster-name", default="pytest-kind")
    if name == "pytest-kind":  # pytest-kind-ng's default name means "not chosen"
        name = Settings.from_env().cluster_name
    line = (
        f"demo-micro: the paths name live suites only, so their tests bring up the kind testbed "
        f"{name!r} (or reuse it when it exists), as with --cluster; --no-cluster skips them"
    )
    if target := config.getoption("--target-kubeconfig"):
        line = f"demo-micro: the live suites run against the cluster of {target}, not the testbed"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line, yellow=True, bold=True)


@pytest.hookimpl(trylast=True)  # after -m/-k deselection: `items` is what will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--cluster"):
        if config.stash[CLUSTER_IMPLIED] and any("cluster" in item.keywords for item in items):
            announce_implied_cluster(config)
        return
    skip = pytest.mark.skip(
        reason="needs the live kind testbed: name the suite by path (pytest suites/resilience), "
        "add --cluster, or run tox -e e2e"
    )
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def testbed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[object]:
    """The kind cluster with the system deployed and every workload ready; with
    --target-kubeconfig, that cluster instead (never created, changed or deleted here)."""
    if request.config.getoption("--target-kubeconfig"):
        yield attached_target(request.config, tmp_path_factory.mktemp("target"))
        return
    from testbed.cluster import Testbed
    from testbed.live import deletes_at_end
    from testbed.settings import Settings

    settings = Settings.from_env()
    overrides: dict[str, object] = {}
    if request.config.getoption("--testbed-mode"):
        overrides["mode"] = request.config.getoption("--testbed-mode")
    name = request.config.getoption("--cluster-name", default="pytest-kind")
    if name != "pytest-kind":  # pytest-kind-ng's default name means "not chosen"
        overrides["cluster_name"] = name
    if overrides:
        settings = Settings(**{**settings.__dict__, **overrides})
    bed = Testbed(settings)
    # The bring-up's progress (phases, build output) goes to the terminal as it happens, not
    # into the first test's captured output.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        found = bed.exists()
        if request.config.getoption("--testbed-reuse"):
            bed.attach()
        else:
            bed.up()
    yield bed
    if deletes_at_end(found=found, keep=request.config.getoption("--keep-cluster", default=False)):
        bed.down()


def attached_target(config: pytest.Config, folder: Path) -> object:
    """The cluster of --target-kubeconfig, ready, its pods running what the registry holds."""
    from testbed.attach import BadInput, Target, open_target
    from testbed.cluster import SetupError
    from testbed.settings import Settings

    try:
        target: Target = open_target(
            Settings.from_env(),
            Path(config.getoption("--target-kubeconfig")),
            config.getoption("--target-context"),
            config.getoption("--target-registry"),
            folder,
        )
    except BadInput as bad:
        raise pytest.UsageError(str(bad)) from None
    target.wait_ready(timeout=120)
    stale = target.stale_builds()
    if stale:
        raise SetupError(f"pods run other images than the registry holds: {stale}")
    return target


@pytest.fixture(scope="session")
def overlay(testbed: object) -> str:
    """The overlay the testbed deployed (`offline` air-gapped, `kind` online): live checks of
    what the drawing deploys read it, so an online run checks Kibana and Logstash too."""
    name: str = testbed.overlay.name  # type: ignore[attr-defined]
    return name


@pytest.fixture(scope="session")
def kube(testbed: object) -> object:
    """Typed helpers over the Kubernetes API for the demo-micro namespace."""
    return testbed.kube()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def gateway_url(testbed: object) -> str:
    """The API gateway through its NodePort on the host's loopback (the real Service path): the
    drawing's node port in front of the ingress's workload (testbed/kind/cluster.yaml maps it).
    On an attached target, read from the cluster: the Service's node port on a node's address."""
    from suites import promises
    from testbed.attach import Target

    if isinstance(testbed, Target):
        return testbed.gateway_url()

    return f"http://127.0.0.1:{promises.API_NODE_PORT.node_port}"


@pytest.fixture(scope="session")
def autoscalers_suspended(request: pytest.FixtureRequest) -> Iterator[object]:
    """The HorizontalPodAutoscalers removed (their manifests saved) for the session and put back
    at its end: they would race the tests that count replicas. One instance for the whole
    session, whichever suite asks first (the suites' conftests ask for it, autouse)."""
    if not request.config.getoption("--cluster"):
        yield None
        return
    from testbed.kube import AutoscalersSuspended

    with AutoscalersSuspended(request.getfixturevalue("kube")) as suspended:
        yield suspended


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """When a cluster test fails, save events, describe and pod logs; attach them to the report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (report.failed and call.when == "call" and "cluster" in item.keywords):
        return
    bed = item.funcargs.get("testbed") if hasattr(item, "funcargs") else None
    if bed is None:
        return
    from suites.reporting.attachments import attach_diagnostics
    from testbed.diagnostics import collect

    folder = collect(bed, REPO / "reports" / item.name)
    report.sections.append(("cluster diagnostics", f"saved to {folder}"))
    attach_diagnostics(report, folder)
