"""Delivery check: every event the relay sent ends up as a notification, even if the queue lost it.

The relay marks an event sent once SQS accepted it. A queue that restarts without persistence
(LocalStack's default, the offline emulator) loses what it held, and no retry would notice. So
order-service asks notification-service, for events sent a while ago, which orders it has a
notification for: those events are settled (delivered), the rest go back to the relay and are
sent again. notification-service keeps one notification per order, so a resend never makes a
second one. When notification-service cannot be asked, nothing is decided: the check runs again.

An event without a notification is only taken for lost while the queue is empty. As long as the
queue holds messages (waiting, or received and not yet deleted) the consumer is behind, not
short of events, and sending more would only feed the backlog: resending on age alone made a
consumer that fell behind get more work the further it fell, and the backlog never drained.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from system.order_service.store import OrderStore

log = logging.getLogger(__name__)

#: notification-service answers at most 100 orders per query.
BATCH_SIZE = 100


class NotificationsClient:
    """notification-service as seen from order-service: which orders have a notification."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")

    async def notified(self, order_ids: list[str]) -> set[str]:
        response = await self._client.get(
            f"{self._base_url}/notifications",
            params={"order_id": order_ids, "limit": len(order_ids)},
        )
        response.raise_for_status()
        return {str(n["order_id"]) for n in response.json()}


class DeliveryCheck:
    def __init__(
        self,
        store: OrderStore,
        notifications: NotificationsClient,
        queue_depth: Callable[[], Awaitable[int]],
        wake_relay: Callable[[], None],
        resend_after_seconds: float,
        interval_seconds: float,
    ) -> None:
        self._store = store
        self._notifications = notifications
        self._queue_depth = queue_depth
        self._wake_relay = wake_relay
        self._resend_after = resend_after_seconds
        self._interval = interval_seconds

    async def check_once(self) -> tuple[int, int]:
        """Settle one batch of sent, unsettled events; (delivered, sent again)."""
        events = await self._store.sent_not_delivered(self._resend_after, BATCH_SIZE)
        if not events:
            return 0, 0
        notified = await self._notifications.notified(sorted(set(events.values())))
        delivered = [i for i, order_id in events.items() if order_id in notified]
        lost = [i for i, order_id in events.items() if order_id not in notified]
        if lost and await self._queue_depth() > 0:
            lost = []  # not consumed yet: the queue still holds messages
        await self._store.settle(delivered, lost)
        if lost:
            log.warning(
                "events sent but never notified: sending them again",
                extra={"count": len(lost), "order_ids": [events[i] for i in lost[:10]]},
            )
            self._wake_relay()
        return len(delivered), len(lost)

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            try:
                delivered, lost = await self.check_once()
            except Exception as exc:
                log.warning(
                    "delivery check failed, will retry",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
                delivered = lost = 0
            if delivered + lost < BATCH_SIZE:
                await asyncio.sleep(self._interval)
