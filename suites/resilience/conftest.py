"""Resilience tests: autoscalers sit out the session; the browse scenario of scenarios/ runs as
background load during every test; invariants are checked after every test."""

from collections.abc import Iterator

import pytest

from suites.conformance.conftest import _autoscalers_sit_out
from suites.invariants import assert_hold
from suites.load.locust_run import REPORTS, Background
from suites.resilience import invariants
from suites.resilience.live import record
from testbed import traffic
from testbed.cluster import Testbed
from testbed.kube import Kube

__all__ = ["_autoscalers_sit_out", "background_load", "invariants_hold"]

#: The confirmed orders of the previous test, counted again after this one.
CONFIRMED_EARLIER: list[str] = []

#: Light on purpose: the traffic probe measures; this keeps real user journeys going beside it.
BACKGROUND_USERS = 4
BACKGROUND_REPORTS = REPORTS.parent / "background-load"


@pytest.fixture(autouse=True)
def background_load(request: pytest.FixtureRequest) -> Iterator[None]:
    """Locust's browse scenario against the gateway while the test runs.

    Its users must see no failure either, unless the test is marked `clients_see_failures`
    (a database outage answers 503 by design).
    """
    if "cluster" not in request.keywords or not request.config.getoption("--cluster"):
        yield
        return
    gateway_url: str = request.getfixturevalue("gateway_url")
    tag = "-" + "".join(c if c.isalnum() else "_" for c in request.node.name)
    background = Background(
        "browse", gateway_url, BACKGROUND_USERS, tag=tag, reports=BACKGROUND_REPORTS
    )
    with background as load:
        yield
    result = load.result
    assert result is not None
    total = result.total
    figure = f"{total.requests} requests, {total.failures} failed"
    print(f"\nbackground load ({result.scenario}, {BACKGROUND_USERS} users): {figure}")
    record(f"background_load.{request.node.name}", figure)
    assert total.requests > 0, result.output
    if "clients_see_failures" not in request.keywords:
        assert total.failures == 0, result.failures


@pytest.fixture(autouse=True)
def invariants_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test, whatever it broke, the order flow's invariants (suites/invariants.py):
    every acknowledged order kept, no oversell, stock conserved, one notification per confirmed
    order."""
    if "cluster" not in request.keywords or not request.config.getoption("--cluster"):
        yield
        return
    testbed: Testbed = request.getfixturevalue("testbed")
    kube: Kube = request.getfixturevalue("kube")
    gateway_url: str = request.getfixturevalue("gateway_url")
    invariants.wait_healthy(gateway_url)
    since = invariants.database_now(testbed, kube)
    supply = invariants.supply(testbed, kube)
    mark = len(traffic.ACKNOWLEDGED)
    yield
    acknowledged = traffic.acknowledged_since(mark)
    findings = invariants.check(testbed, kube, since, acknowledged, supply)
    print(f"\ninvariants: {findings}, {len(acknowledged)} acknowledged by the traffic")
    assert_hold(findings)
    confirmed = [i for i, status in findings.orders.items() if status == "confirmed"]
    invariants.wait_one_notification_each(gateway_url, confirmed)
    # The previous test's orders once more, a whole test later: a notification delivered twice
    # after the first count (a message redelivered once the queue's 30 s visibility timeout
    # ran out) shows here.
    invariants.recount_once_each(gateway_url, CONFIRMED_EARLIER)
    CONFIRMED_EARLIER[:] = confirmed
