"""A draining service tells every client to close its connection and stops being ready.

This is what lets a rolling update finish without a failed request: see
system/common/draining.py and the preStop hooks in manifests/base.
"""

from fastapi import APIRouter
from fastapi.testclient import TestClient

from system.common.app import create_service_app
from system.common.settings import ServiceSettings


def _app(client_host: str = "127.0.0.1") -> TestClient:
    router = APIRouter()

    @router.get("/thing")
    async def thing() -> dict[str, str]:
        return {"thing": "ok"}

    app = create_service_app(
        service="probe", settings=ServiceSettings(), routers=[router], checks=[]
    )
    return TestClient(app, client=(client_host, 50000))


def test_a_serving_process_keeps_connections_alive_and_is_ready() -> None:
    client = _app()
    assert client.get("/thing").headers.get("connection") != "close"
    assert client.get("/readyz").status_code == 200


def test_after_drainz_every_answer_closes_its_connection_and_readiness_fails() -> None:
    # arrange
    client = _app()

    # act: what the preStop hook does, without the wait
    drained = client.get("/drainz", params={"seconds": 0})

    # assert: requests are still answered, each closing its connection; not ready any more
    assert drained.status_code == 200
    answer = client.get("/thing")
    assert (answer.status_code, answer.headers["connection"]) == (200, "close")
    assert client.get("/readyz").status_code == 503


def test_a_drain_longer_than_a_minute_is_refused_and_changes_nothing() -> None:
    client = _app()
    assert client.get("/drainz", params={"seconds": 3600}).status_code == 422
    assert client.get("/readyz").status_code == 200


def test_only_the_pod_itself_may_drain_it_and_a_refused_drain_changes_nothing() -> None:
    client = _app(client_host="10.244.1.7")
    assert client.get("/drainz", params={"seconds": 0}).status_code == 403
    assert client.get("/readyz").status_code == 200
    assert client.get("/thing").headers.get("connection") != "close"


def test_drainz_is_not_part_of_the_public_api() -> None:
    assert "/drainz" not in _app().get("/openapi.json").json()["paths"]
