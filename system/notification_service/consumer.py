"""Consumes OrderCreated events from SQS with long polling.

A message is deleted only after its notification is stored, so a crash re-delivers it;
redelivery and duplicate sends are harmless because the store keeps one per order.
"""

import asyncio
import logging

from pydantic import ValidationError

from system.common.request_context import request_id_var
from system.common.sqs import ReceivedMessage, SqsQueue
from system.notification_service.schemas import OrderCreated
from system.notification_service.store import NotificationStore

log = logging.getLogger(__name__)


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
                # Neither stored nor deleted: SQS delivers the batch again later.
                log.warning("ensuring the unique index failed", extra={"error": repr(exc)})
                continue
            # The batch is stored concurrently, then what was stored is deleted in one call.
            stored = await asyncio.gather(*(self._store(m) for m in messages))
            done = [m.receipt_handle for m, ok in zip(messages, stored, strict=True) if ok]
            try:
                await self._queue.delete(done)
            except Exception as exc:
                # Stored but not deleted: redelivered later and recognised as a duplicate.
                log.warning("deleting messages failed", extra={"error": repr(exc)})

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
                # Not deleted: SQS delivers it again after the visibility timeout.
                log.warning("storing notification failed", extra={"error": repr(exc)})
                return False
            log.info(
                "notification stored" if created else "duplicate event ignored",
                extra={"order_id": str(event.order.id), "receive_count": message.receive_count},
            )
            return True
        finally:
            request_id_var.reset(token)
