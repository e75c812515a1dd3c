"""Promise: under the mixed load the system fails no request, oversells nothing and notifies
every confirmed order exactly once; its throughput and latency are recorded for docs/load.md."""

from __future__ import annotations

import pytest

from suites.listing_token import deployed_listing_token
from suites.load.locust_run import Load
from suites.load.verified_run import ScenarioRunner, StockSource, run_verified
from suites.resilience.live import record
from testbed.kube import Kube

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_mixed_load_fails_no_request_oversells_nothing_and_notifies_every_confirmed_order(
    gateway_url: str,
    kube: Kube,
    cluster_load: Load,
    cluster_runner: ScenarioRunner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # arrange / act: the mixed scenario through the NodePort (with --workers, from locust's
    # workers in the cluster through the gateway's Service), stock and orders read around it
    # (the orders with the deployed listing token: a failure names their customers in full)
    catalogue = StockSource(gateway_url, "/api/inventory/products")
    token = deployed_listing_token(kube)
    run = run_verified(
        "mixed", gateway_url, catalogue, cluster_load, listing_token=token, runner=cluster_runner
    )

    # assert: run_verified checked the invariants; record and show the figures
    for name, value in run.figures().items():
        record(f"load.mixed.{name}", value)
    with capsys.disabled():
        print(f"\nload on the testbed: {run}\nreport: {run.result.html}")
