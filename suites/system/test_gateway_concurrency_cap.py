"""Promise: a gateway pod serves at most its cap of concurrent requests; beyond it a request gets
a prompt 503 JSON error with Retry-After, below it nothing is refused, and the probes are never
refused."""

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from suites.system.stack import Service, Stack
from suites.waiting import eventually, scaled

CAP = 4


class SilentBackend:
    """A backend that accepts connections, counts them and never answers."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def connections(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(conn)

    def close(self) -> None:
        """Hang up on everything: the held gateway requests end (503) and their clients return.
        Closing twice is harmless."""
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture(scope="module")
def silent_backend() -> Iterator[SilentBackend]:
    backend = SilentBackend()
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="module")
def capped_gateway(stack: Stack, silent_backend: SilentBackend) -> Service:
    """A gateway with a small cap whose catalogue reads hang (its inventory never answers)."""
    return stack.start_extra(
        "api_gateway",
        stack.gateway,
        {
            "MAX_CONCURRENT_REQUESTS": str(CAP),
            "INVENTORY_SERVICE_URL": silent_backend.url,
            "CACHE_TTL_SECONDS": "0",
            "UPSTREAM_READ_TIMEOUT_SECONDS": "60",
        },
    )


def _hold(
    pool: ThreadPoolExecutor, gateway: Service, backend: SilentBackend, count: int
) -> list[Future[httpx.Response]]:
    """`count` more catalogue reads in flight at the gateway (each waits on the backend)."""
    expected = backend.connections + count
    held: list[Future[httpx.Response]] = [
        pool.submit(httpx.get, f"{gateway.url}/api/inventory/products", timeout=scaled(90))
        for _ in range(count)
    ]
    eventually(
        lambda: backend.connections >= expected,
        timeout=10,
        what=f"{expected} gateway requests waiting on the silent backend",
        hint=f"{sum(f.done() for f in held)} of the held requests already returned",
    )
    return held


def test_beyond_its_cap_the_gateway_answers_a_prompt_503_with_retry_after(
    capped_gateway: Service, silent_backend: SilentBackend
) -> None:
    with ThreadPoolExecutor(CAP) as pool:
        try:
            _cap_is_kept(pool, capped_gateway, silent_backend)
        finally:
            # The backend hangs up, so the held requests end (503) before the pool is joined.
            silent_backend.close()


def _cap_is_kept(pool: ThreadPoolExecutor, gateway: Service, backend: SilentBackend) -> None:
    # arrange: one fewer slow request than the cap
    held = _hold(pool, gateway, backend, CAP - 1)

    # act / assert: below the cap, a request is served
    below = httpx.get(f"{gateway.url}/api/orders", timeout=10)
    assert below.status_code == 200, below.text

    # arrange: the cap reached
    held += _hold(pool, gateway, backend, 1)

    # act: one more request, and the probes
    beyond = httpx.get(f"{gateway.url}/api/orders", timeout=10)
    still_held = [not f.done() for f in held]
    probes = [httpx.get(f"{gateway.url}{path}", timeout=5) for path in ("/healthz", "/readyz")]

    # assert: refused at once (while every held request still held its slot: it did not wait
    # for one; no seconds are asserted, as CPU contention would stretch them), as JSON with a
    # retry hint, without reaching the backend; the probes still answer
    assert beyond.status_code == 503, beyond.text
    assert still_held == [True] * CAP, "a held request ended: the refusal may have waited"
    assert backend.connections == CAP, "the refused request reached the backend"
    assert int(beyond.headers["retry-after"]) >= 1
    body = beyond.json()
    assert f"limit of {CAP} concurrent requests" in body["detail"]
    assert body["status"] == 503
    assert body["request_id"] == beyond.headers["x-request-id"]
    assert [p.status_code for p in probes] == [200, 200], [p.text for p in probes]


def test_the_openapi_document_lists_the_503_of_the_cap(capped_gateway: Service) -> None:
    # act
    document = httpx.get(f"{capped_gateway.url}/openapi.json", timeout=5).json()

    # assert: every capped operation documents its 503; the probes are not capped
    capped = {
        (method.upper(), path): operation["responses"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path not in ("/healthz", "/readyz")
    }
    undocumented = sorted(op for op, responses in capped.items() if "503" not in responses)
    assert not undocumented, f"operations without their 503: {undocumented}"
