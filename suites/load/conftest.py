"""Options of the load runs (tox -e load -- --load-users 30 ...), and the local stack for runs
without a cluster."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from suites.load.distributed import MAX_WORKERS, runner, workers_option
from suites.load.locust_run import Load, run_scenario
from suites.load.verified_run import ScenarioRunner
from suites.system.stack import Stack, running_infra, running_stack

#: Sized for the project's 2-core machine, which also runs the cluster (or the local stack).
DEFAULT_USERS = 40
DEFAULT_SPAWN_RATE = 10.0
DEFAULT_SECONDS = 60
#: Each scenario on the local stack: enough for a stable p95, short enough for a proof run.
LOCAL_SECONDS = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("demo-micro load")
    group.addoption("--load-users", type=int, default=DEFAULT_USERS, help="locust --users")
    group.addoption(
        "--load-spawn-rate", type=float, default=DEFAULT_SPAWN_RATE, help="locust --spawn-rate"
    )
    group.addoption(
        "--load-seconds",
        type=int,
        default=None,
        help=f"locust --run-time (default {DEFAULT_SECONDS} s on the testbed, "
        f"{LOCAL_SECONDS} s per scenario on the local stack)",
    )
    group.addoption(
        "--workers",
        type=workers_option,
        default=None,
        help=f"run the testbed's load with locust's distributed mode in the cluster: a master "
        f"and this many workers (1-{MAX_WORKERS}) as Jobs in a namespace of their own "
        "(suites/load/distributed.py); without it, one local locust process",
    )


def _load(config: pytest.Config, default_seconds: int) -> Load:
    # getoption's defaults: the options exist only when pytest started from this folder.
    seconds = config.getoption("--load-seconds", default=None) or default_seconds
    return Load(
        users=config.getoption("--load-users", default=DEFAULT_USERS),
        spawn_rate=config.getoption("--load-spawn-rate", default=DEFAULT_SPAWN_RATE),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def cluster_load(request: pytest.FixtureRequest) -> Load:
    return _load(request.config, DEFAULT_SECONDS)


@pytest.fixture(scope="session")
def cluster_runner(request: pytest.FixtureRequest) -> ScenarioRunner:
    """What runs the testbed's load: one local locust process, or with --workers N a master and
    N workers as Jobs in the cluster."""
    workers: int | None = request.config.getoption("--workers", default=None)
    if workers is None:
        return run_scenario
    return runner(request.getfixturevalue("testbed"), workers)


@pytest.fixture(scope="session")
def local_load(request: pytest.FixtureRequest) -> Load:
    return _load(request.config, LOCAL_SECONDS)


@pytest.fixture(scope="session")
def locust_installed() -> None:
    # find_spec, not import: importing locust would monkey-patch this process with gevent.
    if importlib.util.find_spec("locust") is None:
        pytest.skip("needs locust: run in the load environment (tox -e load -- -m 'not cluster')")


@pytest.fixture(scope="session")
def local_stack(
    locust_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The four services and their real dependencies as local processes (as suites/system)."""
    with (
        running_infra(tmp_path_factory.mktemp("servers")) as infra,
        running_stack(infra) as stack,
    ):
        yield stack
