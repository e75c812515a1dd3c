"""Promise: every service answers /healthz, /readyz, /version and serves its OpenAPI;
without its database a service does not pretend to be up."""

import httpx
import pytest

from suites.system import servers
from suites.system.stack import Stack
from suites.waiting import scaled

SERVICES = ["gateway", "inventory", "orders", "notifications"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_reports_alive_ready_and_its_configured_version(
    stack: Stack, name: str
) -> None:
    # arrange
    service = getattr(stack, name)

    # act
    health = httpx.get(f"{service.url}/healthz", timeout=5)
    ready = httpx.get(f"{service.url}/readyz", timeout=5)
    version = httpx.get(f"{service.url}/version", timeout=5)
    openapi = httpx.get(f"{service.url}/openapi.json", timeout=5)

    # assert
    assert health.status_code == 200
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"].values()) <= {"ok"}
    assert version.json()["version"] == service.env["APP_VERSION"]
    assert openapi.json()["info"]["version"] == service.env["APP_VERSION"]


def test_a_service_whose_database_is_unreachable_exits_at_startup_saying_why(
    stack: Stack,
) -> None:
    # arrange: an order-service whose database port does not answer
    bad_env = {"ORDER_DB_PORT": "1", "DB_STARTUP_TIMEOUT_SECONDS": "0"}

    # act: it must refuse to start rather than serve without its database
    process, _ = servers.service(
        stack.infra.workdir, "order_service", {**stack.orders.env, **bad_env}
    )
    process.spawn()
    assert process.proc is not None
    exit_code = process.proc.wait(timeout=scaled(30))

    # assert
    assert exit_code != 0
    assert "database not reachable" in process.log_tail(40)
