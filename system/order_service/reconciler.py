"""Reconciler: no order stays `pending` longer than a bound, and no stock stays held without one.

An order is pending between its claim and its finalisation. A request can stop in between
(inventory answered after order-service's timeout, order-db went down before `finalize`, a
shutdown cancelled it) and its client may never retry. So, every few seconds, each replica:

- takes the orders pending for longer than the bound (locked, SKIP LOCKED: never two replicas on
  one order) and finishes them: confirmed when their reservation holds stock, otherwise
  rejected, after releasing the reservation. Releasing a key inventory never saw marks it
  released for good, so a reservation still in flight cannot take stock afterwards;
- compares a page of the reservations holding stock with order-db, and releases those made
  under an order id (order-service's reservation key) that is not there, once they are older
  than the bound.

When inventory-service cannot be asked nothing is decided: the next pass tries again.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from system.common.request_context import request_id_var
from system.order_service.inventory import InventoryClient, InventoryUnavailable
from system.order_service.schemas import Order
from system.order_service.store import Decision, OrderStore

log = logging.getLogger(__name__)

#: Overdue orders finished per pass.
BATCH_SIZE = 20
#: Held reservations compared with order-db per pass (a confirmed order's stays held).
RESERVATIONS_PER_PASS = 100


@dataclass
class Counts:
    """What the reconciler did since the service started."""

    confirmed: int = 0
    rejected: int = 0
    released_orphans: int = 0


def _order_id(key: str) -> UUID | None:
    try:
        return UUID(key)
    except ValueError:
        return None


class PendingReconciler:
    def __init__(
        self,
        store: OrderStore,
        inventory: InventoryClient,
        wake_relay: Callable[[], None],
        bound_seconds: float,
        interval_seconds: float,
    ) -> None:
        self._store = store
        self._inventory = inventory
        self._wake_relay = wake_relay
        self._bound = bound_seconds
        self._interval = interval_seconds
        self.counts = Counts()
        # The last reservation key compared: each pass goes on from there, then starts over.
        self._after_key = ""

    async def _decide(self, order: Order) -> Decision | None:
        key = str(order.id)
        try:
            reservation = await self._inventory.reservation(key)
            if reservation is not None and reservation.status == "reserved":
                return "confirmed", None
            released = await self._inventory.release(key)
        except InventoryUnavailable as exc:
            log.warning(
                "cannot finish an overdue order yet",
                extra={"order_id": key, "error": str(exc)},
            )
            return None
        if released.status == "rejected":
            return "rejected", released.reason
        return "rejected", f"not completed within {self._bound:g} s; nothing was reserved"

    async def reconcile_once(self) -> None:
        """One pass: overdue pending orders finished, orphan reservations released."""
        request_id = f"reconciler:{uuid.uuid4().hex}"
        token = request_id_var.set(request_id)
        try:
            finished = await self._store.finish_overdue(
                self._bound, BATCH_SIZE, self._decide, request_id
            )
            for order in finished:
                if order.status == "confirmed":
                    self.counts.confirmed += 1
                else:
                    self.counts.rejected += 1
                log.warning(
                    "finished an overdue pending order",
                    extra={
                        "order_id": str(order.id),
                        "order_status": order.status,
                        **vars(self.counts),
                    },
                )
            if finished:
                self._wake_relay()
            await self._release_orphans()
        finally:
            request_id_var.reset(token)

    async def _release_orphans(self) -> None:
        held = await self._inventory.held_keys(self._bound, self._after_key, RESERVATIONS_PER_PASS)
        self._after_key = held[-1] if len(held) == RESERVATIONS_PER_PASS else ""
        order_ids = {key: order_id for key in held if (order_id := _order_id(key))}
        if not order_ids:
            return
        known = await self._store.existing(list(order_ids.values()))
        for key, order_id in order_ids.items():
            if order_id in known:
                continue
            await self._inventory.release(key)
            self.counts.released_orphans += 1
            log.warning(
                "released a reservation whose order does not exist",
                extra={"order_id": key, **vars(self.counts)},
            )

    async def run(self) -> None:
        """Reconcile until cancelled."""
        while True:
            try:
                await self.reconcile_once()
            except Exception as exc:
                log.warning(
                    "reconciler pass failed, will retry",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
            await asyncio.sleep(self._interval)
