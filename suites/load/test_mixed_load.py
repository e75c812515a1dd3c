"""Promise: under the mixed load the system fails no request, oversells nothing and notifies
every confirmed order exactly once; its throughput and latency are recorded for docs/load.md."""

from __future__ import annotations

import pytest

from suites.load.locust_run import Load
from suites.load.verified_run import StockSource, run_verified
from suites.resilience.live import record

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_mixed_load_fails_no_request_oversells_nothing_and_notifies_every_confirmed_order(
    gateway_url: str, cluster_load: Load, capsys: pytest.CaptureFixture[str]
) -> None:
    # arrange / act: the mixed scenario through the NodePort, stock and orders read around it
    catalogue = StockSource(gateway_url, "/api/inventory/products")
    run = run_verified("mixed", gateway_url, catalogue, cluster_load)

    # assert: run_verified checked the invariants; record and show the figures
    for name, value in run.figures().items():
        record(f"load.mixed.{name}", value)
    with capsys.disabled():
        print(f"\nload on the testbed: {run}\nreport: {run.result.html}")
