"""Live tests here count replicas and scale by hand: the autoscalers sit out the session."""

from collections.abc import Iterator

import pytest

from testbed.kube import AutoscalersSuspended, Kube


@pytest.fixture(scope="session", autouse=True)
def autoscalers_suspended(
    request: pytest.FixtureRequest,
) -> Iterator[AutoscalersSuspended | None]:
    """The suspended autoscalers (their saved manifests), restored at the end of the session."""
    if not request.config.getoption("--cluster"):
        yield None
        return
    kube: Kube = request.getfixturevalue("kube")
    with AutoscalersSuspended(kube) as suspended:
        yield suspended
