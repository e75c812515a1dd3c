"""Consumes OrderCreated events from SQS with long polling.

A message is deleted only after its notification is stored, so a crash re-delivers it;
redelivery and duplicate sends are harmless because the store keeps one per order.

A message whose notification could not be stored (notification-db down) is handed back to the
queue for a retry within seconds (`retry_in`), not left invisible for the queue's visibility
timeout (30 s): its notification arrives soon after the store is back.
"""

import asyncio
import logging

from pydantic import ValidationError

from system.common.request_context import request_id_var
from system.common.sqs import ReceivedMessage, SqsQueue
from system.notification_service.schemas import OrderCreated
from system.notification_service.store import NotificationStore

log = logging.getLogger(__name__)

#: Seconds until a message that could not be stored comes back, by how often it was received
#: (the last for every receive after): soon after the store is back, rarely while it is down.
RETRY_SECONDS = (1, 2, 4, 8)


def retry_in(receive_count: int) -> int:
    """Seconds until a message received `receive_count` times and not stored comes back."""
    return RETRY_SECONDS[min(max(receive_count, 1), len(RETRY_SECONDS)) - 1]


class EventConsumer:
    def __init__(
        self, queue: SqsQueue, store: NotificationStore, wait_seconds: int, max_backoff: float
    ) -> None:
        self._queue = queue
        self._notifications = store
        self._wait_seconds = wait_seconds
        self._max_backoff = max_backoff

    async def run(self) -> None:
        """Consume until cancelled."""
        backoff = 0.5
        while True:
            try:
                messages = await self._queue.receive(self._wait_seconds)
            except Exception as exc:
                log.warning(
                    "receiving from SQS failed, will retry",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.5
            if not messages:
                continue
            try:
                # Before every batch, not only at start-up: the one-per-order guarantee is the
                # unique index, and a collection dropped and re-created while the service runs
                # would otherwise have none (one round trip; a no-op when the index exists).
                await self._notifications.ensure_indexes()
            except Exception as exc:
                # Neither stored nor deleted: the batch comes back for a retry.
                log.warning("ensuring the unique index failed", extra={"error": repr(exc)})
                await self._retry_later(messages)
                continue
            # The batch is stored concurrently, then what was stored is deleted in one call.
            stored = await asyncio.gather(*(self._store(m) for m in messages))
            done = [m.receipt_handle for m, ok in zip(messages, stored, strict=True) if ok]
            try:
                await self._queue.delete(done)
            except Exception as exc:
                # Stored but not deleted: redelivered later and recognised as a duplicate.
                log.warning("deleting messages failed", extra={"error": repr(exc)})
            await self._retry_later([m for m, ok in zip(messages, stored, strict=True) if not ok])

    async def _retry_later(self, messages: list[ReceivedMessage]) -> None:
        """Hand messages not stored back to the queue within seconds (`retry_in`)."""
        try:
            await self._queue.retry_later(
                [(m.receipt_handle, retry_in(m.receive_count)) for m in messages]
            )
        except Exception as exc:
            # They come back all the same, after the queue's visibility timeout.
            log.warning("handing messages back for a retry failed", extra={"error": repr(exc)})

    async def _store(self, message: ReceivedMessage) -> bool:
        """Store the message's notification; True when the message may be deleted."""
        # The id of the request that placed the order, so one id traces it end to end.
        request_id = message.attributes.get("request_id") or f"sqs:{message.message_id}"
        token = request_id_var.set(request_id)
        try:
            try:
                event = OrderCreated.model_validate_json(message.body)
            except ValidationError as exc:
                # Redelivering a malformed message can never succeed: drop it, loudly.
                log.error("dropping malformed message", extra={"error": str(exc)[:500]})
                return True
            try:
                created = await self._notifications.record(event)
            except Exception as exc:
                # Not deleted: handed back for a retry (`_retry_later`).
                log.warning("storing notification failed", extra={"error": repr(exc)})
                return False
            log.info(
                "notification stored" if created else "duplicate event ignored",
                extra={"order_id": str(event.order.id), "receive_count": message.receive_count},
            )
            return True
        finally:
            request_id_var.reset(token)
