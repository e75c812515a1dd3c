"""Promise: every service answers /healthz, /readyz, /version and serves its OpenAPI.

Without its database a service is alive and not Ready:
test_a_service_starts_while_its_database_is_down.py."""

import httpx
import pytest

from suites.system.stack import Stack

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
