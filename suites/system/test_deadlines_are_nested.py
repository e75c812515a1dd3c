"""Promise: each hop's time budget is smaller than its caller's, so a client is answered before
its caller gives up (never a 504 for an order that then succeeds behind it).

client → gateway (upstream read timeout) → order-service (one deadline for the whole order)
→ inventory-service (connect + read timeouts, cut short by that deadline). An order left
pending by a deadline is finished by the reconciler, whose bound is longer still.
"""

from system.api_gateway.config import Settings as GatewaySettings
from system.order_service.config import Settings as OrderSettings


def deadline_violations(gateway: GatewaySettings, orders: OrderSettings) -> list[str]:
    """Sentences naming each budget that is not inside its caller's."""
    problems = []
    if orders.order_deadline_seconds >= gateway.upstream_read_timeout_seconds:
        problems.append(
            f"order-service's deadline ({orders.order_deadline_seconds} s) is not inside the "
            f"gateway's read timeout ({gateway.upstream_read_timeout_seconds} s)"
        )
    if orders.pending_bound_seconds <= orders.order_deadline_seconds:
        problems.append(
            f"the pending bound ({orders.pending_bound_seconds} s) would finish orders whose "
            f"request may still run ({orders.order_deadline_seconds} s)"
        )
    return problems


def test_each_hops_budget_is_inside_its_callers() -> None:
    # the settings the manifests deploy (they set none of these, so the defaults)
    assert deadline_violations(GatewaySettings(), OrderSettings()) == []


def test_a_deadline_longer_than_the_gateways_timeout_is_caught() -> None:
    # negative control: the old order of budgets (inventory read 5 s + connect 2 s + two pool
    # waits of 2 s could outlast the gateway's 10 s)
    too_long = OrderSettings(order_deadline_seconds=11)
    unbounded = OrderSettings(pending_bound_seconds=5)

    assert len(deadline_violations(GatewaySettings(), too_long)) == 1
    assert len(deadline_violations(GatewaySettings(), unbounded)) == 1
