"""What notification-service's reads cost as its collection grows, on the FerretDB it runs with.

Starts FerretDB alone (the binary of $FERRETDB_BIN, else as the fast suite finds it), stores N
notifications as notification-service does (`NotificationStore.record`: keyed by order id),
then times the two reads the system makes, each R times:

- one order's notification (`for_orders` of one id): the probes, `GET /notifications?order_id=`;
- 100 orders' notifications at once (`for_orders` of 100 ids, 90 of them notified): what
  order-service's delivery check asks every 10 s while events are unsettled.

Run it once per FerretDB build to compare them (airgap/go/patches/ says what each patch does):
FERRETDB_BIN=... python -m benchmarks.notification_reads [--notifications 5000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from suites.system.servers import ferretdb, find_ferretdb
from system.notification_service.schemas import OrderCreated
from system.notification_service.store import NotificationStore


def event(order_id: uuid.UUID) -> OrderCreated:
    return OrderCreated.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "OrderCreated",
            "order": {"id": str(order_id), "customer_email": "b@x.example", "status": "confirmed"},
        }
    )


async def measure(port: int, notifications: int, repeats: int) -> dict[str, float]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "127.0.0.1", port, serverSelectionTimeoutMS=5000, tz_aware=True
    )
    try:
        store = NotificationStore(client, "bench")
        await store.prepare()
        orders = [uuid.uuid4() for _ in range(notifications)]
        for order_id in orders:
            await store.record(event(order_id))
        asked = [*orders[:90], *(uuid.uuid4() for _ in range(10))]

        async def median_ms(ids: list[uuid.UUID], expected: int) -> float:
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                found = await store.for_orders(ids, 100)
                times.append((time.perf_counter() - started) * 1000)
                assert len(found) == expected, (len(found), expected)
            return round(statistics.median(times), 2)

        return {
            "one order, median ms": await median_ms(orders[-1:], 1),
            "100 orders, median ms": await median_ms(asked, 90),
        }
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        process, port = ferretdb(Path(workdir))
        process.start()
        try:
            figures = asyncio.run(measure(port, args.notifications, args.repeats))
        finally:
            process.stop()
    print(f"FerretDB {find_ferretdb()}, {args.notifications} notifications: {figures}")


if __name__ == "__main__":
    main()
