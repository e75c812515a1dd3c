"""Resilience tests: autoscalers sit out the session; invariants are checked after every test."""

from collections.abc import Iterator

import pytest

from suites.conformance.conftest import autoscalers_suspended
from suites.resilience import invariants
from testbed.cluster import Testbed
from testbed.kube import Kube

__all__ = ["autoscalers_suspended", "invariants_hold"]


@pytest.fixture(autouse=True)
def invariants_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test, whatever it broke: no oversell, one notification per confirmed order."""
    if "cluster" not in request.keywords or not request.config.getoption("--cluster"):
        yield
        return
    testbed: Testbed = request.getfixturevalue("testbed")
    kube: Kube = request.getfixturevalue("kube")
    gateway_url: str = request.getfixturevalue("gateway_url")
    since = invariants.database_now(testbed, kube)
    yield
    findings = invariants.check(testbed, kube, since)
    print(f"\ninvariants: {findings}")
    assert findings.negative_stock == [], f"negative stock: {findings.negative_stock}"
    assert findings.oversold == [], f"confirmed without reserved stock: {findings.oversold}"
    held = findings.held_by_rejected
    assert held == [], f"stock held by rejected orders: {held}"
    confirmed = [i for i, status in findings.orders.items() if status == "confirmed"]
    invariants.wait_one_notification_each(gateway_url, confirmed)
