"""Live tests here count replicas and scale by hand: the autoscalers sit out the session."""

from collections.abc import Iterator

import pytest

from testbed.kube import AutoscalersSuspended, Kube


@pytest.fixture(scope="session", autouse=True)
def autoscalers_suspended(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.config.getoption("--cluster"):
        yield
        return
    kube: Kube = request.getfixturevalue("kube")
    with AutoscalersSuspended(kube):
        yield
