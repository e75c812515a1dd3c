"""The node loss through the API (`kubepromises.nodes`) on a state written here: which worker is
lost, what is evicted and what is left (and why), the checks before and after with the states
they exist to catch, the drawing's `node-loss` SLO, and the traffic kept off the lost node.

The shop runs here as `test_live_checks.healthy` writes it: each workload's replicas round-robin
over three workers, so worker-a holds every single replica.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from kubepromises import nodes
from kubepromises.drawing import Drawing, DrawingError, Slo, load_drawing
from kubepromises.live import Observed
from kubepromises.static import Obj
from kubepromises.traffic import Route
from tests.kubepromises.example import SHOP_DRAWING
from tests.kubepromises.test_live_checks import NODES, healthy, node

OVERLAY = "offline"


@pytest.fixture(scope="module")
def shop() -> Drawing:
    return load_drawing(SHOP_DRAWING)


@pytest.fixture
def observed(shop: Drawing) -> Observed:
    return healthy(shop, OVERLAY)


def edited(observed: Observed, edit: dict[str, dict[str, object]]) -> Observed:
    """A copy where the named pods' spec gets the given fields."""
    pods = copy.deepcopy(observed.pods)
    for pod in pods:
        pod["spec"].update(edit.get(pod["metadata"]["name"], {}))
    return dataclasses.replace(observed, pods=pods)


def with_control_plane(observed: Observed, name: str) -> Observed:
    """A copy where node `name` is labelled a control plane (and takes pods all the same)."""
    listed = copy.deepcopy(observed.nodes)
    for obj in listed:
        if obj["metadata"]["name"] == name:
            obj["metadata"]["labels"] = {nodes.CONTROL_PLANE_LABELS[0]: ""}
    return dataclasses.replace(observed, nodes=listed)


def claim(name: str) -> list[Obj]:
    return [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]


# -- which node, what is evicted, what is left ---------------------------------------------------


def test_the_worker_that_leaves_the_fewest_pods_behind_is_lost(
    shop: Drawing, observed: Observed
) -> None:
    # act
    loss = nodes.choose_node(shop, OVERLAY, observed)
    # assert: worker-a holds the single replicas; worker-b evicts a storefront and a checkout
    assert isinstance(loss, nodes.Loss)
    assert loss.node == "worker-b"
    assert loss.evicted == ("storefront-1", "checkout-1")
    assert loss.left == ()


def test_a_pod_with_a_claim_or_a_single_replica_is_left_saying_why(
    shop: Drawing, observed: Observed
) -> None:
    # arrange: the checkout replica on worker-a mounts a claim
    state = edited(observed, {"checkout-0": {"volumes": claim("scratch")}})
    # act
    loss = nodes.plan_loss(shop, OVERLAY, state, "worker-a")
    # assert
    assert loss.evicted == ("storefront-0",)
    assert "checkout-0 (its volume scratch may be bound to the node)" in loss.left
    assert "checkout-db-0 (the only replica of StatefulSet/checkout-db)" in loss.left
    assert "cart-cache-0 (the only replica of Deployment/cart-cache)" in loss.left
    assert "not asked: " in str(loss)


def test_the_worker_stranding_fewer_volumes_is_preferred(shop: Drawing, observed: Observed) -> None:
    # arrange: worker-b's storefront replica mounts a claim; worker-c's pods do not
    state = edited(observed, {"storefront-1": {"volumes": claim("a")}})
    # act
    loss = nodes.choose_node(shop, OVERLAY, state)
    # assert
    assert isinstance(loss, nodes.Loss)
    assert loss.node == "worker-c"
    assert loss.evicted == ("storefront-2",)


def test_a_control_plane_is_never_lost(shop: Drawing, observed: Observed) -> None:
    # arrange: worker-b labelled a control plane
    state = with_control_plane(observed, "worker-b")
    # act
    loss = nodes.choose_node(shop, OVERLAY, state)
    # assert
    assert isinstance(loss, nodes.Loss)
    assert loss.node == "worker-c"


def test_without_a_worker_holding_a_replica_of_several_none_is_chosen_saying_why(
    shop: Drawing, observed: Observed
) -> None:
    # arrange: every node a control plane
    state = observed
    for name in NODES:
        state = with_control_plane(state, name)
    # act
    loss = nodes.choose_node(shop, OVERLAY, state)
    # assert
    assert isinstance(loss, str)
    assert "no schedulable worker runs a Ready replica" in loss


def test_a_cordoned_worker_is_not_chosen(shop: Drawing, observed: Observed) -> None:
    # arrange: worker-b cordoned by someone else (restoring it would undo their cordon)
    listed = list(observed.nodes)
    listed[1] = {**node("worker-b"), "spec": {"unschedulable": True}}
    # act
    loss = nodes.choose_node(shop, OVERLAY, dataclasses.replace(observed, nodes=tuple(listed)))
    # assert
    assert isinstance(loss, nodes.Loss)
    assert loss.node == "worker-c"


# -- the checks and their negative controls ------------------------------------------------------


def test_the_checks_hold_on_a_state_with_replicas_off_the_lost_node(
    shop: Drawing, observed: Observed
) -> None:
    assert nodes.survivor_violations(shop, OVERLAY, observed, "worker-b") == []
    # every replica of several is off worker-b once storefront-1 and checkout-1 moved
    moved = edited(observed, {"storefront-1": {"nodeName": "worker-a"}})
    moved = edited(moved, {"checkout-1": {"nodeName": "worker-c"}})
    assert nodes.moved_violations(shop, OVERLAY, moved, "worker-b") == []


def test_negative_control_every_replica_on_the_lost_node_fails_both_checks(
    shop: Drawing, observed: Observed
) -> None:
    # arrange: every checkout replica on worker-b
    state = edited(observed, {"checkout-0": {"nodeName": "worker-b"}})
    # act
    before = nodes.survivor_violations(shop, OVERLAY, state, "worker-b")
    after = nodes.moved_violations(shop, OVERLAY, state, "worker-b")
    # assert
    assert len(before) == 1
    assert "Deployment/checkout has no Ready replica off node worker-b" in before[0]
    assert any("Deployment/checkout has 0 replicas Ready off node worker-b" in v for v in after)


def test_negative_control_a_replica_still_on_the_lost_node_fails_the_moved_check(
    shop: Drawing, observed: Observed
) -> None:
    # act: nothing moved yet
    violations = nodes.moved_violations(shop, OVERLAY, observed, "worker-b")
    # assert: each several-replica workload is one short, naming the drawing's field
    assert len(violations) == 2
    assert "Deployment/storefront has 2 replicas Ready off node worker-b" in violations[0]
    assert "drawing.yaml:" in violations[0]


def test_negative_control_a_workload_drawn_with_one_replica_is_not_asked_to_survive(
    shop: Drawing, observed: Observed
) -> None:
    # arrange: the storefront drawn with one replica, which runs on worker-a only
    one = dataclasses.replace(shop.workload("storefront"), replicas=1)
    services = tuple(one if s.name == "storefront" else s for s in shop.services)
    drawn_once = dataclasses.replace(shop, services=services)
    # act
    loss = nodes.plan_loss(drawn_once, OVERLAY, observed, "worker-a")
    # assert: its pod there is left, not evicted, saying why
    assert "storefront-0 (the only replica of Deployment/storefront)" in loss.left
    assert "storefront-0" not in loss.evicted


# -- the drawing's SLO -------------------------------------------------------------------------


def test_the_bound_is_the_drawings_node_loss_slo(shop: Drawing) -> None:
    assert nodes.bound_seconds(shop) == shop.slo(nodes.NODE_LOSS_SLO).at_most


def test_without_the_slo_the_default_bound_holds(shop: Drawing) -> None:
    without = dataclasses.replace(
        shop, slos=tuple(s for s in shop.slos if s.name != nodes.NODE_LOSS_SLO)
    )
    assert nodes.bound_seconds(without) == nodes.NODE_LOSS_WITHOUT_SLO_SECONDS


@pytest.mark.parametrize(
    ("at_most", "unit", "words"),
    [(30.0, "min", "in seconds (unit: s), not 'min'"), (0.0, "s", "more than 0 s")],
)
def test_a_node_loss_slo_it_cannot_keep_is_a_clear_error(
    shop: Drawing, at_most: float, unit: str, words: str
) -> None:
    # arrange
    bad = Slo(nodes.NODE_LOSS_SLO, at_most, unit, "moved")
    drawing = dataclasses.replace(
        shop, slos=tuple(bad if s.name == nodes.NODE_LOSS_SLO else s for s in shop.slos)
    )
    # act + assert
    with pytest.raises(nodes.NodeLossError, match="node-loss") as caught:
        nodes.bound_seconds(drawing)
    assert words in str(caught.value)
    assert "drawing.yaml" in str(caught.value)


def test_a_negative_node_loss_slo_is_refused_by_the_drawings_schema(tmp_path: Path) -> None:
    # arrange: the shop's drawing with node-loss at -1
    text = SHOP_DRAWING.read_text()
    assert "  node-loss:\n    at_most: 30\n" in text
    copy_ = tmp_path / "drawing.yaml"
    copy_.write_text(
        text.replace("  node-loss:\n    at_most: 30\n", "  node-loss:\n    at_most: -1\n")
    )
    # act + assert
    with pytest.raises(DrawingError) as caught:
        load_drawing(copy_)
    assert "slos.node-loss.at_most" in str(caught.value)


# -- the traffic, kept off the lost node -------------------------------------------------------


def test_traffic_from_a_pod_on_the_lost_node_comes_from_another_replica(
    observed: Observed,
) -> None:
    route = Route("storefront-1", "checkout", 8001, "/healthz")
    assert nodes.route_off(route, observed, "worker-b") == dataclasses.replace(
        route, pod="storefront-0"
    )
    assert nodes.route_off(route, observed, "worker-c") == route


def test_traffic_to_a_node_port_on_the_lost_node_goes_to_another_node(
    observed: Observed,
) -> None:
    route = Route(None, "10.0.0.2", 30100, "/healthz")  # worker-b's address
    moved = nodes.route_off(route, observed, "worker-b")
    assert isinstance(moved, Route)
    assert moved.host == "10.0.0.1"


def test_without_a_pod_off_the_lost_node_there_is_no_route_saying_why(
    observed: Observed,
) -> None:
    # arrange: every storefront replica on worker-b
    state = edited(observed, {f"storefront-{i}": {"nodeName": "worker-b"} for i in range(3)})
    route = Route("storefront-1", "checkout", 8001, "/healthz")
    # act
    moved = nodes.route_off(route, state, "worker-b")
    # assert
    assert isinstance(moved, str)
    assert "runs on worker-b" in moved
