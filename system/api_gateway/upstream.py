"""Forwarding to one backend, turning every failure into a prompt JSON 502/503/504."""

import logging
from typing import Any

import httpx
from fastapi import Response

from system.common.errors import error_response

log = logging.getLogger(__name__)

# Headers of a backend response worth passing to the client.
_PASSED_HEADERS = ("content-type", "idempotent-replayed", "retry-after")


class Upstream:
    def __init__(self, name: str, base_url: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._client = client

    async def send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | Response:
        """The backend's response, or a JSON error response if it failed or was unreachable.

        Idempotent requests are retried once on a connection-level error (not on timeouts:
        a slow backend would only get slower).
        """
        url = self._base_url + path
        attempts = 2 if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.request(
                    method, url, params=params, json=json, headers=headers
                )
            except httpx.PoolTimeout:
                return error_response(503, f"gateway overloaded: no free connection to {self.name}")
            except httpx.TimeoutException as exc:
                return error_response(504, f"{self.name} timed out ({type(exc).__name__})")
            except httpx.TransportError as exc:
                if attempt < attempts:
                    log.info("retrying after transport error", extra={"upstream": self.name})
                    continue
                status = 503 if isinstance(exc, httpx.ConnectError) else 502
                return error_response(status, f"{self.name} unreachable ({type(exc).__name__})")
            return self._translate(response)
        raise AssertionError("unreachable")

    def _translate(self, response: httpx.Response) -> httpx.Response | Response:
        if response.status_code < 500:
            return response
        detail = _detail(response)
        if response.status_code in (503, 504):
            return error_response(response.status_code, f"{self.name}: {detail}")
        return error_response(502, f"{self.name} failed with {response.status_code}: {detail}")


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return response.text[:300]


def relay(response: httpx.Response | Response) -> Response:
    """A backend response as our response (status, body, a few headers)."""
    if isinstance(response, Response):
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() in _PASSED_HEADERS}
    return Response(content=response.content, status_code=response.status_code, headers=headers)
