"""A request that meets a dependency outage fails cleanly: 503 with a JSON body, never a 500."""

import psycopg
import pymongo.errors
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from system.common.app import create_service_app
from system.common.settings import ServiceSettings

OUTAGES = [
    psycopg.OperationalError("connection refused"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    pymongo.errors.ServerSelectionTimeoutError("no servers"),
]


def _client_raising(error: Exception) -> TestClient:
    router = APIRouter()

    @router.get("/work")
    async def work() -> None:
        raise error

    app = create_service_app(
        service="probe", settings=ServiceSettings(), routers=[router], checks=[]
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("outage", OUTAGES, ids=lambda e: type(e).__name__)
def test_a_dependency_outage_is_answered_with_503_json(outage: Exception) -> None:
    answer = _client_raising(outage).get("/work")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert type(outage).__name__ in answer.json()["detail"]


def test_a_bug_is_still_a_500() -> None:
    answer = _client_raising(ValueError("a bug")).get("/work")
    assert answer.status_code == 500
