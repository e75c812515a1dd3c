"""inventory-service as seen from order-service."""

from dataclasses import dataclass
from typing import Any

import httpx

from system.order_service.schemas import OrderItem


@dataclass(frozen=True)
class ReservationOutcome:
    reserved: bool
    reason: str | None


@dataclass(frozen=True)
class ReservationState:
    """A reservation as inventory-service holds it."""

    status: str  # reserved, rejected or released
    reason: str | None


class InventoryRefused(Exception):
    """inventory-service rejected the request itself (e.g. unknown SKU): a client error."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


#: Raised from inside httpx's transport when the peer vanishes while a connection is being set
#: up (anyio: 'NoneType' object has no attribute 'getpeername', seen when inventory-service was
#: killed mid-connect): a lost connection like any other, not a crash of order-service.
TRANSPORT_BUGS = AttributeError


class InventoryUnavailable(Exception):
    """inventory-service could not be reached or failed; retrying later is safe."""


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:300]


class InventoryClient:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")

    async def reserve(self, key: str, items: list[OrderItem]) -> ReservationOutcome:
        """Reserve all items under `key`; the same key always gives the same outcome."""
        body = {"key": key, "items": [i.model_dump() for i in items]}
        url = f"{self._base_url}/reservations"
        # The reservation is idempotent by key, so one retry on a transport error is safe.
        for attempt in (1, 2):
            try:
                response = await self._client.post(url, json=body)
                break
            except httpx.TimeoutException as exc:
                raise InventoryUnavailable(f"inventory-service timed out: {exc!r}") from exc
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise InventoryUnavailable(f"inventory-service unreachable: {exc!r}") from exc
            except TRANSPORT_BUGS as exc:
                raise InventoryUnavailable(f"inventory-service connection lost: {exc!r}") from exc
        if response.status_code >= 500:
            raise InventoryUnavailable(
                f"inventory-service answered {response.status_code}: {_detail(response)}"
            )
        if response.status_code >= 400:
            raise InventoryRefused(response.status_code, _detail(response))
        reservation = response.json()
        return ReservationOutcome(
            reserved=reservation["status"] == "reserved", reason=reservation.get("reason")
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; any transport error or 5xx is InventoryUnavailable."""
        try:
            response = await self._client.request(method, f"{self._base_url}{path}", **kwargs)
        except (httpx.HTTPError, TRANSPORT_BUGS) as exc:
            raise InventoryUnavailable(f"inventory-service: {exc!r}") from exc
        if response.status_code >= 500:
            raise InventoryUnavailable(
                f"inventory-service answered {response.status_code}: {_detail(response)}"
            )
        return response

    async def reservation(self, key: str) -> ReservationState | None:
        """The reservation made under `key`, or None if there is none."""
        response = await self._call("GET", f"/reservations/{key}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body = response.json()
        return ReservationState(body["status"], body.get("reason"))

    async def release(self, key: str) -> ReservationState:
        """Give back what `key` holds; a key never reserved is marked released for good."""
        response = await self._call("POST", f"/reservations/{key}/release")
        response.raise_for_status()
        body = response.json()
        return ReservationState(body["status"], body.get("reason"))

    async def held_keys(self, older_than_seconds: float, after: str, limit: int) -> list[str]:
        """Keys after `after` of reservations still holding stock, made that long ago or more."""
        response = await self._call(
            "GET",
            "/reservations",
            params={"older_than_seconds": older_than_seconds, "after": after, "limit": limit},
        )
        response.raise_for_status()
        keys: list[str] = response.json()
        return keys

    async def ping(self) -> None:
        response = await self._client.get(f"{self._base_url}/healthz")
        response.raise_for_status()
