"""inventory-service as seen from order-service."""

from dataclasses import dataclass

import httpx

from system.order_service.schemas import OrderItem


@dataclass(frozen=True)
class ReservationOutcome:
    reserved: bool
    reason: str | None


class InventoryRefused(Exception):
    """inventory-service rejected the request itself (e.g. unknown SKU): a client error."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


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

    async def ping(self) -> None:
        response = await self._client.get(f"{self._base_url}/healthz")
        response.raise_for_status()
