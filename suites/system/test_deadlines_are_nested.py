"""Promise: each hop's time budget is smaller than its caller's, so a client is answered before
its caller gives up (never a 504 for an order that then succeeds behind it).

client → gateway (upstream read timeout) → order-service (one deadline for the whole order)
→ inventory-service (connect + read timeouts, cut short by that deadline). An order left
pending by a deadline is finished by the reconciler, whose bound is longer still. Reads have
deadlines of their own: order-service's inside the gateway's timeout, inventory-service's inside
both of its callers' (the gateway's catalogue, order-service's reconciler).
"""

from system.api_gateway.config import Settings as GatewaySettings
from system.common.deadline import CANCELLING_AT_MOST
from system.inventory_service.config import Settings as InventorySettings
from system.notification_service.config import Settings as NotificationSettings
from system.order_service.config import Settings as OrderSettings


def deadline_violations(
    gateway: GatewaySettings,
    orders: OrderSettings,
    inventory: InventorySettings,
    notifications: NotificationSettings,
) -> list[str]:
    """Sentences naming each budget that is not inside its caller's."""
    problems = []
    if orders.order_deadline_seconds >= gateway.upstream_read_timeout_seconds:
        problems.append(
            f"order-service's deadline ({orders.order_deadline_seconds} s) is not inside the "
            f"gateway's read timeout ({gateway.upstream_read_timeout_seconds} s)"
        )
    if orders.read_deadline_seconds >= gateway.upstream_read_timeout_seconds:
        problems.append(
            f"order-service's read deadline ({orders.read_deadline_seconds} s) is not inside "
            f"the gateway's read timeout ({gateway.upstream_read_timeout_seconds} s)"
        )
    # order-service calls both through one client, its read timeout the inventory timeout
    callers = {
        "order-service's read timeout": orders.inventory_timeout_seconds,
        "the gateway's read timeout": gateway.upstream_read_timeout_seconds,
    }
    reads = {
        "inventory-service": inventory.read_deadline_seconds,
        "notification-service": notifications.read_deadline_seconds,
    }
    for service, deadline in reads.items():
        for caller, timeout in callers.items():
            if deadline >= timeout:
                problems.append(
                    f"{service}'s read deadline ({deadline} s) is not inside {caller} ({timeout} s)"
                )
    # A reservation or a release: order-service is its only caller (the gateway routes neither)
    if inventory.write_deadline_seconds >= orders.inventory_timeout_seconds:
        problems.append(
            f"inventory-service's write deadline ({inventory.write_deadline_seconds} s) is not "
            f"inside order-service's read timeout ({orders.inventory_timeout_seconds} s)"
        )
    # An order cut short by its deadline is cancelled, which psycopg may take a while to finish.
    still_running = orders.order_deadline_seconds + CANCELLING_AT_MOST
    if orders.pending_bound_seconds <= still_running:
        problems.append(
            f"the pending bound ({orders.pending_bound_seconds} s) would finish orders whose "
            f"request may still run ({still_running} s: the deadline, then the cancellation)"
        )
    return problems


def test_each_hops_budget_is_inside_its_callers() -> None:
    # the settings the manifests deploy (they set none of these, so the defaults)
    deployed = (GatewaySettings(), OrderSettings(), InventorySettings(), NotificationSettings())
    assert deadline_violations(*deployed) == []


def test_a_deadline_longer_than_its_callers_timeout_is_caught() -> None:
    # negative controls, one budget changed each: the old order of budgets (inventory read 5 s
    # + connect 2 s + two pool waits of 2 s could outlast the gateway's 10 s), reads as long as
    # their callers wait
    gateway, orders = GatewaySettings(), OrderSettings()
    inventory, notifications = InventorySettings(), NotificationSettings()
    changed = [
        (gateway, OrderSettings(order_deadline_seconds=11), inventory, notifications),
        (gateway, OrderSettings(read_deadline_seconds=10), inventory, notifications),
        # longer than the deadline, shorter than the deadline and its cancellation
        (gateway, OrderSettings(pending_bound_seconds=15), inventory, notifications),
        (gateway, orders, InventorySettings(read_deadline_seconds=5), notifications),
        (gateway, orders, InventorySettings(write_deadline_seconds=5), notifications),
        (gateway, orders, inventory, NotificationSettings(read_deadline_seconds=5)),
    ]

    assert [len(deadline_violations(*settings)) for settings in changed] == [1] * len(changed)
