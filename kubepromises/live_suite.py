"""The generic live suite: what a drawing promises, checked on the cluster it is deployed on.

Run it on any drawing: ``pytest --pyargs kubepromises.live_suite --drawing PATH
--live-kubeconfig PATH [--live-context NAME] [--live-overlay NAME]``; a project that brings up
its own cluster overrides the `live_api` and `live_overlay` fixtures and may import these tests
into a module of its own suite. Each check reads the namespace as the API reports it now
(`kubepromises.live.observe`). Beside each, a negative control breaks a copy of that same real
state the way the promise forbids, and the check must name the breakage; the node-port control
asks the cluster for a port nothing serves, and the self-healing test deletes a real pod and
must see the replica check fail before it holds again. A control skips when the drawing gives it
nothing to break.

The self-healing test changes the cluster (one pod of each service deleted, replaced by its
controller), and so do the rolling-update and scaling tests and their controls (each service
rolled out to a new pod template, and scaled to twice its replicas and back, under traffic; the
controls' service stripped of its preStop and probes, then put back), the config rollouts and
their control (a key added to a ConfigMap and taken out again, each service rolled out twice),
the memory test (each service rolled out to a limit it cannot start in, then put back) and the
scale-out test (each autoscaled service's autoscaler given a CPU target of 1 % under traffic,
then its own again; the service is left scaled out for the autoscaler's scale-down window, 5
minutes by default) and the node-loss test (a worker cordoned and marked, the drawing's pods
evicted from it, then given back and the moved services rolled out to spread them again); a
service an autoscaler sizes is scaled with its autoscaler detached (pointed at no workload, then
put back); every other test only reads.

Those that change the cluster take the plugin's `destructive` fixture: without
`--allow-destructive=CONTEXT` naming the context checked, each is skipped as "not verified on
this target", with the reason (`kubepromises.guard`), and the promise matrix counts it so.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from kubepromises import autoscaling, configs, guard, limits, nodes, rollouts, traffic
from kubepromises.drawing import Drawing, Workload
from kubepromises.live import (
    PARALLEL_PROBES,
    Observed,
    call_violations,
    claim_violations,
    configuration_violations,
    connect_from,
    endpoint_violations,
    isolation_violations,
    node_port_violations,
    observe,
    pods_of,
    ready_pods,
    ready_replica_violations,
    run_in_pod,
    schedulable_nodes,
    spread_violations,
)
from kubepromises.static import Obj, assert_caught, assert_holds, autoscalers_of, find, ref
from kubepromises.waiting import NotYet, eventually

#: The drawing's SLO that bounds a replacement pod's time to Ready, when it has one.
READY_SLO = "ready"
#: Without such an SLO, how long a replacement may take before the test gives up.
READY_WITHOUT_SLO_SECONDS = 120.0


@pytest.fixture
def observed(live_api: Any, drawing: Drawing) -> Observed:
    """The drawing's namespace as the cluster reports it now."""
    return observe(live_api, drawing.namespace)


#: A connection from inside a pod: (pod, host, port) -> None when it opened, else what it met.
Probe = Callable[[str, str, int], str | None]


@pytest.fixture
def connect(live_api: Any, drawing: Drawing) -> Probe:
    """The probe from inside a pod of the drawing's namespace (`live.connect_from`)."""
    return functools.partial(connect_from, live_api, drawing.namespace)


def broken(observed: Observed, **changed: Any) -> Observed:
    """A copy of the observed state with some of its parts replaced, for a negative control."""
    return dataclasses.replace(copy.deepcopy(observed), **changed)


def running(drawing: Drawing, overlay: str, observed: Observed, replicas: int = 1) -> list[Obj]:
    """The overlay's workloads running with at least this many Ready replicas; the control
    skips when there is none."""
    found = []
    for workload in drawing.workloads_in(overlay):
        obj = find(observed.workloads, workload.kind, workload.name)
        if obj is None or workload.replicas < replicas:
            continue
        if len(ready_pods(observed, obj)) >= replicas:
            found.append(obj)
    if not found:
        pytest.skip(f"no workload of the drawing runs {replicas} Ready replicas to break")
    return found


# -- the promises hold --------------------------------------------------------------------------


def test_every_workload_has_its_replicas_ready(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    assert_holds(ready_replica_violations(drawing, live_overlay, observed))


def test_replicas_run_on_different_nodes(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    assert_holds(spread_violations(drawing, live_overlay, observed))


def test_every_volume_is_a_bound_claim_of_its_size(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    assert_holds(claim_violations(drawing, live_overlay, observed))


def test_the_drawings_configmaps_and_secrets_exist(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    assert_holds(configuration_violations(drawing, live_overlay, observed))


def test_every_service_sends_to_each_ready_replica_and_no_other(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    assert_holds(endpoint_violations(drawing, live_overlay, observed))


def test_every_node_port_accepts_connections_on_every_node(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    if not drawing.node_ports_in(live_overlay):
        pytest.skip(f"the overlay {live_overlay!r} exposes no node port")
    assert_holds(node_port_violations(drawing, live_overlay, observed))


def test_every_call_of_the_drawing_connects_from_its_callers_pod(
    drawing: Drawing, live_overlay: str, observed: Observed, connect: Probe
) -> None:
    """Service discovery and the allowed paths: from a Ready pod of each caller, its target's
    Service name resolves and a connection to the target's port opens."""
    if not drawing.calls_in(live_overlay):
        pytest.skip(f"the overlay {live_overlay!r} has no call between its workloads")

    assert_holds(call_violations(drawing, live_overlay, observed, connect))


def test_each_data_store_accepts_its_callers_only(
    drawing: Drawing, live_overlay: str, observed: Observed, connect: Probe
) -> None:
    """Isolation: from a Ready pod of every workload the drawing gives no call to a data store,
    a connection to it does not open."""
    if not any(w.data_store for w in drawing.workloads_in(live_overlay)):
        pytest.skip(f"the overlay {live_overlay!r} has no data store")

    assert_holds(isolation_violations(drawing, live_overlay, observed, connect))


# -- negative controls: the same checks on a broken copy of the real state ------------------------


def test_negative_control_a_replica_not_ready_fails_the_replica_check(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    # arrange: one Ready pod of a workload reported not Ready
    workload = running(drawing, live_overlay, observed)[0]
    victim = ready_pods(observed, workload)[0]["metadata"]["name"]
    pods = copy.deepcopy(observed.pods)
    for pod in pods:
        if pod["metadata"]["name"] == victim:
            for condition in pod["status"]["conditions"]:
                if condition["type"] == "Ready":
                    condition["status"] = "False"

    # act + assert
    violations = ready_replica_violations(drawing, live_overlay, broken(observed, pods=pods))
    assert_caught(violations, victim)


def test_negative_control_replicas_on_one_node_fail_the_spread_check(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    # arrange: every Ready pod of a replicated workload moved onto one node
    if len(schedulable_nodes(observed)) < 2:
        pytest.skip("one schedulable node: the spread promise is about several")
    workload = running(drawing, live_overlay, observed, replicas=2)[0]
    names = {p["metadata"]["name"] for p in ready_pods(observed, workload)}
    pods = copy.deepcopy(observed.pods)
    first = next(p["spec"]["nodeName"] for p in pods if p["metadata"]["name"] in names)
    for pod in pods:
        if pod["metadata"]["name"] in names:
            pod["spec"]["nodeName"] = first

    # act + assert
    violations = spread_violations(drawing, live_overlay, broken(observed, pods=pods))
    assert_caught(violations, f"{workload['kind']}/{workload['metadata']['name']}")


def test_negative_control_a_pending_claim_fails_the_volume_check(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    # arrange: one of the drawing's claims reported Pending
    volumes = drawing.volumes_in(live_overlay)
    if not volumes:
        pytest.skip(f"the overlay {live_overlay!r} has no volume")
    claims = copy.deepcopy(observed.claims)
    target = next(c for c in claims if c["metadata"]["name"] == volumes[0].pvc_name)
    target["status"]["phase"] = "Pending"

    # act + assert
    violations = claim_violations(drawing, live_overlay, broken(observed, claims=claims))
    assert_caught(violations, volumes[0].pvc_name)


def test_negative_control_a_missing_configmap_fails_the_configuration_check(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    # arrange: one of the drawing's ConfigMaps gone
    promised = drawing.configmaps_in(live_overlay)
    if not promised:
        pytest.skip("the drawing names no ConfigMap")
    configmaps = observed.configmaps - {promised[0]}

    # act + assert
    violations = configuration_violations(
        drawing, live_overlay, broken(observed, configmaps=configmaps)
    )
    assert_caught(violations, f"ConfigMap/{promised[0]}")


def test_negative_control_a_replica_left_out_of_its_service_fails_the_endpoint_check(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    # arrange: one Ready replica's address dropped from its Service's endpoints
    workload = running(drawing, live_overlay, observed)[0]
    address = ready_pods(observed, workload)[0]["status"]["podIP"]
    slices = copy.deepcopy(observed.endpoint_slices)
    for slice_ in slices:
        for endpoint in slice_.get("endpoints") or []:
            endpoint["addresses"] = [a for a in endpoint.get("addresses") or [] if a != address]

    # act + assert
    violations = endpoint_violations(
        drawing, live_overlay, broken(observed, endpoint_slices=slices)
    )
    assert_caught(violations, f"Service/{workload['metadata']['name']}")


def test_negative_control_a_port_nothing_serves_fails_the_node_port_check(
    drawing: Drawing, live_overlay: str, observed: Observed, live_api: Any
) -> None:
    # arrange: the drawing's first node port moved to one no Service of the cluster allocates
    from kubernetes import client

    promised = drawing.node_ports_in(live_overlay)
    if not promised:
        pytest.skip(f"the overlay {live_overlay!r} exposes no node port")
    services = client.CoreV1Api(live_api).list_service_for_all_namespaces().items
    taken = {p.node_port for s in services for p in s.spec.ports or [] if p.node_port}
    free = next(port for port in range(32767, 30000, -1) if port not in taken)
    moved = dataclasses.replace(promised[0], node_port=free)
    elsewhere = dataclasses.replace(
        drawing, node_ports=tuple(moved if p == promised[0] else p for p in drawing.node_ports)
    )

    # act + assert: the real nodes refuse it
    assert_caught(node_port_violations(elsewhere, live_overlay, observed), f"node port {free}")


def test_negative_control_a_call_to_a_name_without_a_service_fails_the_call_check(
    drawing: Drawing, live_overlay: str, observed: Observed, connect: Probe
) -> None:
    # arrange: the first call alone, its probe aimed at a name no Service has, from the same pod
    probed = drawing.calls_in(live_overlay)
    if not probed:
        pytest.skip(f"the overlay {live_overlay!r} has no call between its workloads")
    first = probed[0]
    one_call = dataclasses.replace(drawing, calls=(first,))
    absent = f"{first.target}-absent"

    def connect_elsewhere(pod: str, _host: str, port: int) -> str | None:
        return connect(pod, absent, port)

    # act
    violations = call_violations(one_call, live_overlay, observed, connect_elsewhere)

    # assert: the real pod could not resolve it, and the check says so
    assert_caught(violations, f"cannot reach {first.target}:{first.port}")


def test_negative_control_a_call_the_drawing_leaves_out_fails_the_isolation_check(
    drawing: Drawing, live_overlay: str, observed: Observed, connect: Probe
) -> None:
    # arrange: the drawing without its first call to a data store (a path that is open)
    stores = {w.name for w in drawing.workloads_in(live_overlay) if w.data_store}
    open_path = next((c for c in drawing.calls_in(live_overlay) if c.target in stores), None)
    if open_path is None:
        pytest.skip(f"the overlay {live_overlay!r} has no call to a data store")
    without = dataclasses.replace(drawing, calls=tuple(c for c in drawing.calls if c != open_path))

    # act: the check, with the open path now one the drawing does not allow
    violations = isolation_violations(without, live_overlay, observed, connect)

    # assert: the real connection opened, and the check names it
    assert_caught(violations, f"reaches {open_path.target}:{open_path.port}")


# -- self-healing: a real pod deleted -------------------------------------------------------------


@pytest.mark.usefixtures("destructive")
def test_a_deleted_replica_is_replaced_in_time(
    drawing: Drawing, live_overlay: str, live_api: Any, drawing_service: str
) -> None:
    """One Ready pod of the service deleted: the replica check names it at once (the control),
    then holds again within the drawing's `ready` SLO."""
    from kubernetes import client

    # arrange: the service at its replica count
    service = drawing.workload(drawing_service)
    if service not in drawing.workloads_in(live_overlay):
        pytest.skip(f"the overlay {live_overlay!r} does not deploy {service.name}")
    slo = next((s for s in drawing.slos if s.name == READY_SLO), None)
    bound = slo.at_most if slo is not None else READY_WITHOUT_SLO_SECONDS
    only = dataclasses.replace(drawing, services=(service,), dependencies=())
    before = observe(live_api, drawing.namespace)
    assert_holds(ready_replica_violations(only, live_overlay, before))
    obj = find(before.workloads, service.kind, service.name)
    assert obj is not None
    victim = ready_pods(before, obj)[0]["metadata"]["name"]

    # act
    client.CoreV1Api(live_api).delete_namespaced_pod(victim, drawing.namespace)
    deleted = time.monotonic()

    # assert: seen short of a replica, then whole again within the bound
    right_after = observe(live_api, drawing.namespace)
    assert_caught(ready_replica_violations(only, live_overlay, right_after), victim)

    def whole() -> float:
        violations = ready_replica_violations(
            only, live_overlay, observe(live_api, drawing.namespace)
        )
        if violations:
            raise NotYet(violations)
        return time.monotonic() - deleted

    took = eventually(
        whole, timeout=bound + 30, interval=0.5, what=f"{service.name} back to its replicas"
    )
    print(f"{service.name}: replaced in {took:.1f} s (bound {bound:g} s)")
    assert took <= bound, (
        f"{service.name} took {took:.1f} s to be whole again; the bound is {bound:g} s"
    )


# -- memory limits: each running container's own cgroup read ------------------------------------


@pytest.fixture(scope="module")
def memory_readings(
    drawing: Drawing,
    live_overlay: str,
    live_api: Any,
    rendered_manifests: Mapping[str, Sequence[Obj]],
) -> list[limits.LimitReading]:
    """The memory limit of each container the manifests limit, read in every Ready pod of its
    workload (`kubepromises.limits`); read once, for the check and its control."""
    promised = limits.memory_limits(drawing, live_overlay, rendered_manifests[live_overlay])
    if not promised:
        pytest.skip(f"the overlay {live_overlay!r}'s manifests give no container a memory limit")
    observed = observe(live_api, drawing.namespace)
    readings: list[limits.LimitReading] = []
    probes: list[tuple[str, limits.MemoryLimit]] = []
    for limit in promised:
        workload = drawing.workload(limit.workload)
        obj = find(observed.workloads, workload.kind, workload.name)
        pods = [p["metadata"]["name"] for p in ready_pods(observed, obj)] if obj else []
        if not pods:
            readings.append(limits.LimitReading("-", limit, None, failed=f"{limit}: no Ready pod"))
        probes += [(pod, limit) for pod in pods]

    def read(probe: tuple[str, limits.MemoryLimit]) -> limits.LimitReading:
        pod, limit = probe
        command = limits.read_command()
        _, printed = run_in_pod(live_api, drawing.namespace, pod, command, limit.container)
        return limits.parse_reading(pod, limit, printed)

    with ThreadPoolExecutor(PARALLEL_PROBES) as pool:
        readings += pool.map(read, probes)
    return readings


def test_every_container_runs_with_its_manifests_memory_limit(
    memory_readings: list[limits.LimitReading],
) -> None:
    """The memory limit the kernel holds each running container to (its cgroup, read inside
    it) is the one its manifests give. A container that cannot be read is not verified: the
    test fails on any mismatch, else skips naming those, and passes only when every one was
    read."""
    # assert: no container read runs with another limit
    assert_holds(limits.memory_limit_violations(memory_readings))
    read = [r for r in memory_readings if r.failed is None]
    print(f"{len(read)} containers read at their manifests' memory limits")
    not_read = limits.unread(memory_readings)
    if not_read:
        pytest.skip(f"not verified: {'; '.join(not_read)} ({len(read)} others held)")


def test_negative_control_another_memory_limit_in_the_manifests_fails_the_limit_check(
    memory_readings: list[limits.LimitReading],
) -> None:
    # arrange: the first container read, its manifests' limit doubled
    read = [r for r in memory_readings if r.failed is None]
    if not read:
        pytest.skip("not verified: no container's memory limit could be read")
    first = read[0].limit
    doubled = dataclasses.replace(first, limit=str(first.bytes * 2))
    broken = [dataclasses.replace(r, limit=doubled) if r.limit == first else r for r in read]

    # act + assert: the real readings no longer match
    assert_caught(limits.memory_limit_violations(broken), f"pod {read[0].pod}'s {first}")


# -- rolling updates and scaling: real changes under traffic -------------------------------------

#: How long the traffic runs before a change starts and after it has settled (a dwell under
#: traffic, not a wait for a condition): the first and the last pods carry requests too.
TRAFFIC_AROUND_CHANGE = 2.0
#: The negative controls' unsafe changes, one after another until one fails requests: a pod
#: leaving without its preStop races kube-proxy, which it sometimes wins.
UNSAFE_CHANGES_AT_MOST = 4


def traffic_route(
    drawing: Drawing, overlay: str, live_api: Any, workload: Workload
) -> traffic.Route:
    """The route of the workload's traffic; the test skips, as not verified, without one."""
    route = traffic.route_to(drawing, overlay, observe(live_api, drawing.namespace), workload)
    if isinstance(route, str):
        pytest.skip(f"not verified: {route}")
    return sendable(drawing, live_api, route)


def sendable(drawing: Drawing, live_api: Any, route: traffic.Route) -> traffic.Route:
    """The route, when its pod (if any) can run the traffic program; the test skips, as not
    verified, otherwise."""
    if route.pod is not None:
        has_python, said = run_in_pod(
            live_api, drawing.namespace, route.pod, ["sh", "-c", "command -v python3"]
        )
        if not has_python:
            pytest.skip(f"not verified: no python3 in pod {route.pod} to send requests ({said})")
    return route


def under_traffic(
    live_api: Any, drawing: Drawing, route: traffic.Route, change: Callable[[], float]
) -> tuple[traffic.Seen, float]:
    """Make the change (which returns once it has settled, and the seconds that took) while the
    route's traffic runs; (what the traffic met, those seconds)."""
    sender = traffic.start(live_api, drawing.namespace, route)
    try:
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
        took = change()
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
    except BaseException:
        with contextlib.suppress(Exception):
            sender.stop()
        raise
    return sender.stop(), took


def rolled_out(live_api: Any, namespace: str, name: str) -> Callable[[], float]:
    """The change of a rolling update: a new pod template, until the Deployment settles."""

    def change() -> float:
        rollouts.roll_out(live_api, namespace, name)
        return rollouts.wait_settled(live_api, namespace, name)

    return change


def scaled_out_and_back(
    live_api: Any, namespace: str, name: str, replicas: int
) -> Callable[[], float]:
    """The change of a scaling: twice the replicas, held rollouts.HOLD_SCALED_OUT, then back."""

    def change() -> float:
        rollouts.scale(live_api, namespace, name, replicas * 2)
        took = rollouts.wait_settled(live_api, namespace, name)
        time.sleep(rollouts.HOLD_SCALED_OUT)  # a dwell under traffic, not a wait for a condition
        rollouts.scale(live_api, namespace, name, replicas)
        return took + rollouts.wait_settled(live_api, namespace, name)

    return change


def scaled_with_its_autoscaler_detached(
    live_api: Any, namespace: str, name: str, replicas: int
) -> Callable[[], float]:
    """The same scaling of a Deployment an autoscaler sizes, which would undo a count set by
    hand: the autoscaler detached meanwhile (`autoscaling.detached`), then its spec put back.
    Holding the autoscaler at twice the replicas instead left recommendations of its own
    behind, and it scaled the service out again once its spec was back."""
    scaling = scaled_out_and_back(live_api, namespace, name, replicas)

    def change() -> float:
        saved = autoscaling.spec(live_api, namespace, name)
        autoscaling.restore(live_api, namespace, name, autoscaling.detached(saved))
        try:
            return scaling()
        finally:
            autoscaling.restore(live_api, namespace, name, saved)

    return change


def changeable(
    drawing: Drawing, overlay: str, live_api: Any, name: str, *, scaled: bool = True
) -> Workload:
    """The service, when the overlay runs it as a Deployment of several replicas that no
    autoscaler sizes (one replica leaves nothing to serve while it is replaced; an autoscaler
    would fight the scaling, so `scaled=False` lets a rollout alone through); the test skips
    otherwise."""
    service = drawing.workload(name)
    if service not in drawing.workloads_in(overlay):
        pytest.skip(f"the overlay {overlay!r} does not deploy {service.name}")
    if service.kind != "Deployment" or service.replicas < 2:
        pytest.skip(f"{service.kind}/{service.name} of {service.replicas} is not changed here")
    if scaled and rollouts.autoscaled(live_api, drawing.namespace, service.name):
        pytest.skip(f"not verified: an autoscaler sizes Deployment/{service.name}")
    return service


@pytest.mark.usefixtures("destructive")
def test_a_rolling_update_fails_no_request(
    drawing: Drawing, live_overlay: str, live_api: Any, drawing_service: str
) -> None:
    """The service rolled out to a new pod template while steady traffic, each request on a
    new connection, reaches it the way it is reached (`kubepromises.traffic`): every replica
    replaced, and no request failed. An autoscaler keeps the count meanwhile (a rollout does
    not change it)."""
    # arrange: the service, and where its traffic comes from
    service = changeable(drawing, live_overlay, live_api, drawing_service, scaled=False)
    route = traffic_route(drawing, live_overlay, live_api, service)

    # act
    change = rolled_out(live_api, drawing.namespace, service.name)
    seen, took = under_traffic(live_api, drawing, route, change)

    # assert: the traffic ran throughout, and met no failure
    print(f"{service.name}: rolled out in {took:.1f} s; {route}: {seen}")
    assert seen.sent >= traffic.RATE * took / 2, f"the traffic hardly ran: {seen}"
    assert not seen.failures, f"{service.name}'s rollout ({took:.1f} s) failed requests: {seen}"


@pytest.mark.usefixtures("destructive")
def test_scaling_out_and_back_fails_no_request(
    drawing: Drawing, live_overlay: str, live_api: Any, drawing_service: str
) -> None:
    """The service scaled to twice its replicas, held there, and scaled back, under the same
    traffic: the added pods take requests only once they can answer them, the removed ones
    leave without failing any. A service an autoscaler sizes is scaled with its autoscaler
    detached (`autoscaling.detached`), then put back."""
    # arrange: the service, how it is scaled, and where its traffic comes from
    service = changeable(drawing, live_overlay, live_api, drawing_service, scaled=False)
    by_autoscaler = rollouts.autoscaled(live_api, drawing.namespace, service.name)
    scaling = scaled_with_its_autoscaler_detached if by_autoscaler else scaled_out_and_back
    route = traffic_route(drawing, live_overlay, live_api, service)

    # act
    change = scaling(live_api, drawing.namespace, service.name, service.replicas)
    seen, took = under_traffic(live_api, drawing, route, change)

    # assert: the traffic ran throughout, and met no failure
    hold = rollouts.HOLD_SCALED_OUT
    how = " with its autoscaler detached" if by_autoscaler else ""
    print(f"{service.name}: scaled out and back{how} in {took:.1f} s (+{hold:g}); {seen}")
    assert seen.sent >= traffic.RATE * took / 2, f"the traffic hardly ran: {seen}"
    assert not seen.failures, f"{service.name}'s scaling failed requests: {seen}"


# -- configuration rollouts: a ConfigMap changed, then the service rolled out --------------------


def read_config(
    live_api: Any, drawing: Drawing, workload: Workload, uses: Sequence[configs.ConfigUse]
) -> list[configs.Reading]:
    """What every Ready pod of the workload sees at each use, read inside its container."""
    observed = observe(live_api, drawing.namespace)
    obj = find(observed.workloads, workload.kind, workload.name)
    pods = [p["metadata"]["name"] for p in ready_pods(observed, obj)] if obj else []

    def read(probe: tuple[str, configs.ConfigUse]) -> configs.Reading:
        pod, use = probe
        command = configs.read_command(use)
        succeeded, printed = run_in_pod(live_api, drawing.namespace, pod, command, use.container)
        return configs.parse_reading(pod, use, succeeded, printed)

    with ThreadPoolExecutor(PARALLEL_PROBES) as pool:
        return list(pool.map(read, [(pod, use) for pod in pods for use in uses]))


def config_uses(
    drawing: Drawing, overlay: str, manifests: Sequence[Obj], workload: Workload
) -> list[configs.ConfigUse]:
    """Where the workload's containers see a key added to one of the drawing's ConfigMaps, as
    its manifests say; the test skips when there is none (as not verified when it takes chosen
    keys only)."""
    obj = find(manifests, workload.kind, workload.name)
    if obj is None:
        pytest.skip(f"the overlay {overlay!r}'s manifests have no {workload.kind}/{workload.name}")
    configmaps = drawing.configmaps_in(overlay)
    found = configs.uses(obj, configs.MARK, configmaps)
    if not found:
        chosen = configs.chosen_keys(obj, configmaps)
        if chosen:
            pytest.skip(
                f"not verified: {ref(obj)} takes chosen keys only ({'; '.join(chosen)}): a new "
                "key would not reach it"
            )
        pytest.skip(f"{ref(obj)} takes no configuration from the drawing's ConfigMaps")
    return found


@pytest.mark.usefixtures("destructive")
def test_a_config_change_rolled_out_reaches_every_replica_and_fails_no_request(
    drawing: Drawing,
    live_overlay: str,
    live_api: Any,
    rendered_manifests: Mapping[str, Sequence[Obj]],
    drawing_service: str,
) -> None:
    """Each ConfigMap of the drawing the service takes whole (`envFrom`, a mounted volume) gets
    a key of its own (`kubepromises.configs.MARK`, a fresh stamp) and the service is rolled
    out: every Ready replica sees the stamp. The key is taken out again and the service rolled
    out: every Ready replica sees it unset, as before. Both rollouts run under the rolling
    update's traffic, and no request fails."""
    # arrange: the service, what it takes, and where its traffic comes from
    service = changeable(drawing, live_overlay, live_api, drawing_service, scaled=False)
    manifests = rendered_manifests[live_overlay]
    uses = config_uses(drawing, live_overlay, manifests, service)
    route = traffic_route(drawing, live_overlay, live_api, service)
    changed = sorted({use.configmap for use in uses})
    stamp = f"{time.time():.3f}"
    readings: dict[str, list[configs.Reading]] = {}

    def change_and_restore() -> float:
        for configmap in changed:
            configs.set_mark(live_api, drawing.namespace, configmap, stamp)
        took = rolled_out(live_api, drawing.namespace, service.name)()
        readings["changed"] = read_config(live_api, drawing, service, uses)
        for configmap in changed:
            configs.set_mark(live_api, drawing.namespace, configmap, None)
        took += rolled_out(live_api, drawing.namespace, service.name)()
        readings["restored"] = read_config(live_api, drawing, service, uses)
        return took

    # act
    try:
        seen, took = under_traffic(live_api, drawing, route, change_and_restore)
    finally:  # the ConfigMaps as they were, and pods that took them, whatever happened
        if "restored" not in readings:
            for configmap in changed:
                configs.set_mark(live_api, drawing.namespace, configmap, None)
            rolled_out(live_api, drawing.namespace, service.name)()

    # assert: the new value everywhere, then the old one; the traffic ran and met no failure
    print(f"{service.name}: {', '.join(map(str, uses))}; two rollouts in {took:.1f} s; {seen}")
    assert_holds(configs.config_violations(readings["changed"], stamp))
    assert_holds(configs.config_violations(readings["restored"], None))
    assert seen.sent >= traffic.RATE * took / 2, f"the traffic hardly ran: {seen}"
    assert not seen.failures, f"{service.name}'s config rollouts failed requests: {seen}"
    not_read = configs.unread(readings["changed"] + readings["restored"])
    if not_read:
        pytest.skip(f"not verified: {'; '.join(not_read)}")


@pytest.mark.usefixtures("destructive")
def test_negative_control_a_config_change_without_a_rollout_fails_the_config_check(
    drawing: Drawing,
    live_overlay: str,
    live_api: Any,
    rendered_manifests: Mapping[str, Sequence[Obj]],
) -> None:
    """The change above without the rollout: the pods that run on took their configuration
    when they started, so the check names them. A use as an environment variable is chosen
    first (the kubelet rewrites a mounted file by itself, within its sync period)."""
    # arrange: the first workload running with a use of the drawing's ConfigMaps
    manifests = rendered_manifests[live_overlay]
    observed = observe(live_api, drawing.namespace)
    candidates = []
    for workload in drawing.workloads_in(live_overlay):
        obj = find(manifests, workload.kind, workload.name)
        running_obj = find(observed.workloads, workload.kind, workload.name)
        if obj is None or running_obj is None or not ready_pods(observed, running_obj):
            continue
        for use in configs.uses(obj, configs.MARK, drawing.configmaps_in(live_overlay)):
            candidates.append((workload, use))
    candidates.sort(key=lambda pair: pair[1].kind != "env")  # variables first
    if not candidates:
        pytest.skip("no running workload takes a whole ConfigMap of the drawing")
    workload, use = candidates[0]
    stamp = f"{time.time():.3f}"

    # act: the ConfigMap changed, no rollout; read at once, then put back
    configs.set_mark(live_api, drawing.namespace, use.configmap, stamp)
    try:
        readings = read_config(live_api, drawing, workload, [use])
    finally:
        configs.set_mark(live_api, drawing.namespace, use.configmap, None)

    # assert: the check names the pods still on the old configuration
    if readings and all(reading.failed for reading in readings):
        pytest.skip(f"not verified: {'; '.join(configs.unread(readings))}")
    assert_caught(configs.config_violations(readings, stamp), f"sees {use} unset")


# -- going over the memory limit: a rollout to a limit the service cannot start in ---------------

#: How long the kernel and the kubelet may take to end a starved container and start it again.
OOM_TIMEOUT = 120.0


@pytest.mark.usefixtures("destructive")
def test_a_container_over_its_memory_limit_is_oom_killed_and_restarted_while_its_service_answers(
    drawing: Drawing, live_overlay: str, live_api: Any, drawing_service: str
) -> None:
    """The service rolled out to half the memory its first container's processes hold (read in
    a Ready pod's cgroup): the kernel ends the new pod's container when it goes over, the
    kubelet starts it again (OOMKilled, restarted), and the old replicas keep serving the same
    traffic as the rolling update's, failing no request. The template is put back; the control
    is the same reading of the pods of the put-back template, which must name no OOM kill."""
    # arrange: the service, its traffic, and what its container holds
    service = changeable(drawing, live_overlay, live_api, drawing_service, scaled=False)
    route = traffic_route(drawing, live_overlay, live_api, service)
    namespace = drawing.namespace
    observed = observe(live_api, namespace)
    obj = find(observed.workloads, service.kind, service.name)
    assert obj is not None
    container = obj["spec"]["template"]["spec"]["containers"][0]["name"]
    serving = {p["metadata"]["name"] for p in ready_pods(observed, obj)}
    pod = sorted(serving)[0]
    _, printed = run_in_pod(live_api, namespace, pod, limits.stat_command(), container)
    held = limits.held_bytes(printed)
    if held is None:
        pytest.skip(f"not verified: cannot read the memory {pod}'s {container} holds: {printed}")
    starving = limits.starving_limit(held)
    if starving is None:
        pytest.skip(
            f"not verified: {pod}'s {container} holds {limits.mebibytes(held)}: half of it would "
            "starve the container runtime's own start-up"
        )
    saved = rollouts.template(live_api, namespace, service.name)

    def oom_killed() -> list[str]:
        now = observe(live_api, namespace)
        found = limits.oom_kills(
            [p for p in pods_of(now, obj) if p["metadata"]["name"] not in serving]
        )
        if not found:
            states = [p.get("status", {}).get("containerStatuses") for p in pods_of(now, obj)]
            raise NotYet(f"no container OOMKilled and restarted yet: {states}")
        return found

    # act: the starved rollout under traffic; then the template put back
    sender = traffic.start(live_api, namespace, route)
    try:
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
        rollouts.set_memory(live_api, namespace, service.name, container, starving)
        started = time.monotonic()
        killed = eventually(
            oom_killed,
            timeout=OOM_TIMEOUT,
            interval=1.0,
            what=f"a new pod of {service.name} limited to {limits.mebibytes(starving)} OOMKilled "
            "and restarted",
            hint=f"kubectl -n {namespace} describe pods: Last State Terminated, Reason OOMKilled; "
            "a process that starts in less than half what it holds later is not starved",
        )
        took = time.monotonic() - started
        still = {p["metadata"]["name"] for p in ready_pods(observe(live_api, namespace), obj)}
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
    finally:
        seen = sender.stop()
        rollouts.restore(live_api, namespace, service.name, saved)
        rollouts.wait_settled(live_api, namespace, service.name)
    restored = ready_pods(observe(live_api, namespace), obj)

    # assert: killed for memory and restarted, while the old replicas served and nothing failed
    print(
        f"{service.name} at {limits.mebibytes(starving)} (holds {limits.mebibytes(held)}): "
        f"{'; '.join(killed)} after {took:.1f} s; {seen}"
    )
    assert serving & still, f"no replica of {service.name} served on: {serving} then {still}"
    assert not seen.failures, f"{service.name}'s starved pod failed requests: {seen}"
    # the control: the pods of the put-back template, within their limit, show no OOM kill
    assert restored, f"{service.name} has no Ready replica after its template was put back"
    assert limits.oom_kills(restored) == []


# -- node loss: a worker lost through the API ------------------------------------------------------

#: The most rollouts that spread the moved workloads over the nodes again once the node is back:
#: the scheduler spreads by score, not by rule, so one rollout is not certain to.
RESPREAD_ROLLOUTS_AT_MOST = 3


def respread(drawing: Drawing, overlay: str, live_api: Any, names: Sequence[str]) -> list[str]:
    """Roll the Deployments out again until the spread check holds (RESPREAD_ROLLOUTS_AT_MOST
    times at most): pods do not move back to a node by themselves. What it still finds."""
    namespace = drawing.namespace
    violations = spread_violations(drawing, overlay, observe(live_api, namespace))
    for _ in range(RESPREAD_ROLLOUTS_AT_MOST):
        if not violations:
            break
        for name in names:
            rollouts.roll_out(live_api, namespace, name)
        for name in names:
            rollouts.wait_settled(live_api, namespace, name)
        violations = spread_violations(drawing, overlay, observe(live_api, namespace))
    return violations


@pytest.mark.usefixtures("destructive")
def test_a_lost_worker_node_leaves_every_replicated_workload_answering(
    drawing: Drawing, live_overlay: str, live_api: Any
) -> None:
    """A worker running replicas of the drawing's several-replica workloads is lost through the
    API (`kubepromises.nodes`: cordoned, marked, the drawing's pods evicted from it): each such
    workload, under the rolling update's traffic through its Service, fails no request, and its
    evicted replicas are Ready on other nodes within the drawing's `node-loss` SLO. The control:
    right after the eviction the check names the workloads short of their replicas. The node is
    given back whatever happens, and the moved workloads are spread over the nodes again."""
    # arrange: the node, what it evicts and leaves, and each workload's traffic from off it
    namespace = drawing.namespace
    try:
        bound = nodes.bound_seconds(drawing)
    except nodes.NodeLossError as error:
        pytest.fail(str(error), pytrace=False)
    before = observe(live_api, namespace)
    loss = nodes.choose_node(drawing, live_overlay, before)
    if isinstance(loss, str):
        pytest.skip(f"{guard.NOT_VERIFIED}: {loss}")
    assert_holds(nodes.survivor_violations(drawing, live_overlay, before, loss.node))
    replicated = nodes.replicated(drawing, live_overlay, before)
    moved = sorted({w.name for w, _ in replicated if w.kind == "Deployment"})
    routes: list[tuple[Workload, traffic.Route]] = []
    for workload, _ in replicated:
        route = traffic.route_to(drawing, live_overlay, before, workload)
        off = (
            nodes.route_off(route, before, loss.node) if isinstance(route, traffic.Route) else route
        )
        if isinstance(off, str):
            pytest.skip(f"{guard.NOT_VERIFIED}: no traffic to {workload.name}: {off}")
        routes.append((workload, sendable(drawing, live_api, off)))

    # act: the traffic; the node lost; its replicas Ready elsewhere; the traffic a while more
    senders: list[traffic.Traffic] = []
    seen: list[traffic.Seen] = []
    right_after: list[str] = []
    try:
        senders = [traffic.start(live_api, namespace, route) for _, route in routes]
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
        nodes.lose(live_api, loss.node)
        started = time.monotonic()
        asked = list(loss.evicted)

        def evicted() -> None:
            asked[:] = nodes.evict(live_api, namespace, asked)
            if asked:
                raise NotYet(f"refused for now (429): {asked}")

        eventually(
            evicted,
            timeout=bound,
            what=f"the Eviction API evicting {', '.join(loss.evicted)}",
            hint=f"kubectl -n {namespace} get pdb: a budget that allows no disruption",
        )
        right_after = nodes.moved_violations(
            drawing, live_overlay, observe(live_api, namespace), loss.node
        )

        def moved_away() -> float:
            now = observe(live_api, namespace)
            violations = nodes.moved_violations(drawing, live_overlay, now, loss.node)
            if violations:
                raise NotYet(violations)
            return time.monotonic() - started

        took = eventually(
            moved_away,
            timeout=bound + 30,
            interval=0.5,
            what=f"the replicas evicted from {loss.node} Ready on other nodes",
            hint=f"kubectl -n {namespace} get pods -o wide; the pending pods' events",
        )
        time.sleep(TRAFFIC_AROUND_CHANGE)  # a dwell under traffic
    finally:  # the node given back first, whatever happened; then the traffic's reports
        try:
            nodes.restore(live_api, loss.node)
        finally:
            for sender in senders:
                with contextlib.suppress(Exception):
                    seen.append(sender.stop())
            spread = respread(drawing, live_overlay, live_api, moved)
    cordoned, taints = nodes.node_state(live_api, loss.node)

    # assert: caught short right after, whole in time elsewhere, no request failed, node back
    print(f"{loss}; Ready elsewhere in {took:.1f} s (bound {bound:g} s)")
    for (workload, route), met in zip(routes, seen, strict=True):
        print(f"{workload.name}: {route}: {met}")
    assert_caught(right_after, f"off node {loss.node}")
    assert took <= bound, f"the replicas took {took:.1f} s to move; the bound is {bound:g} s"
    assert len(seen) == len(routes), f"some traffic did not report: {seen}"
    for (workload, _), met in zip(routes, seen, strict=True):
        assert met.sent >= traffic.RATE * took / 2, f"the traffic hardly ran: {met}"
        assert not met.failures, (
            f"{workload.name} failed requests while {loss.node} was lost: {met}"
        )
    assert not cordoned, f"{loss.node} is still cordoned"
    assert nodes.MARK not in taints, f"{loss.node} still has the mark: {taints}"
    assert_holds(spread)


def test_negative_control_replicas_all_on_the_lost_node_fail_the_node_loss_checks(
    drawing: Drawing, live_overlay: str, observed: Observed
) -> None:
    """The node loss's checks on a copy of the real state where every Ready replica of a
    several-replica workload runs on the node chosen to be lost: nothing would answer while it
    is gone, and nothing has moved off it."""
    # arrange
    loss = nodes.choose_node(drawing, live_overlay, observed)
    if isinstance(loss, str):
        pytest.skip(f"{guard.NOT_VERIFIED}: {loss}")
    workload = running(drawing, live_overlay, observed, replicas=2)[0]
    names = {p["metadata"]["name"] for p in ready_pods(observed, workload)}
    pods = copy.deepcopy(observed.pods)
    for pod in pods:
        if pod["metadata"]["name"] in names:
            pod["spec"]["nodeName"] = loss.node
    crowded = broken(observed, pods=pods)

    # act
    before = nodes.survivor_violations(drawing, live_overlay, crowded, loss.node)
    after = nodes.moved_violations(drawing, live_overlay, crowded, loss.node)

    # assert
    assert_caught(before, f"{ref(workload)} has no Ready replica off node {loss.node}")
    assert_caught(after, f"{ref(workload)} has 0 replicas Ready off node {loss.node}")


# -- autoscaling: the drawing's autoscalers read their metrics and act on them ------------------


def autoscaled_services(drawing: Drawing, overlay: str) -> list[Workload]:
    """The services the drawing autoscales in the overlay; the test skips when there is none."""
    found = [s for s in drawing.services if drawing.autoscaled(overlay, s) is not None]
    if not found:
        pytest.skip(f"the drawing autoscales no service in overlay {overlay!r}")
    return found


def test_every_autoscaler_of_the_drawing_reports_its_cpu_metrics(
    drawing: Drawing, live_overlay: str, live_api: Any
) -> None:
    """Each autoscaled service has its autoscaler, which reports the pods' CPU use (its
    status.currentMetrics): without a reading it can never act. Read until it does (a new
    autoscaler reports within a few of its syncs)."""
    # arrange
    autoscaled_services(drawing, live_overlay)

    def reported() -> list[str]:
        workloads = observe(live_api, drawing.namespace).workloads
        autoscalers = autoscaling.read(live_api, drawing.namespace)
        violations = autoscaling.metric_violations(drawing, live_overlay, workloads, autoscalers)
        if violations:
            raise NotYet(violations)
        return [f"{ref(a)}: {autoscaling.current_cpu(a)}%" for a in autoscalers]

    # act + assert
    readings = eventually(
        reported,
        timeout=autoscaling.METRICS_TIMEOUT,
        interval=2,
        what="every autoscaler of the drawing reporting its pods' CPU use",
        hint=f"is metrics-server serving? kubectl top pods -n {drawing.namespace}",
    )
    print(f"CPU use: {', '.join(readings)}")


def test_negative_control_an_autoscaler_without_metrics_or_target_fails_the_metric_check(
    drawing: Drawing, live_overlay: str, live_api: Any
) -> None:
    # arrange: the real autoscalers; in one copy the first reports no metrics, in another the
    # workload it targets is gone
    service = autoscaled_services(drawing, live_overlay)[0]
    observed = observe(live_api, drawing.namespace)
    autoscalers = autoscaling.read(live_api, drawing.namespace)
    obj = find(observed.workloads, service.kind, service.name)
    assert obj is not None, f"{service.kind}/{service.name} is not running"
    real = autoscalers_of(obj, autoscalers)
    assert real, f"no autoscaler targets {ref(obj)}: the metric check names it"
    without_metrics = copy.deepcopy(list(autoscalers))
    for autoscaler in without_metrics:
        if autoscaler["metadata"]["name"] == real[0]["metadata"]["name"]:
            autoscaler.setdefault("status", {})["currentMetrics"] = None
    without_target = [w for w in observed.workloads if w is not obj]

    # act
    no_metrics = autoscaling.metric_violations(
        drawing, live_overlay, observed.workloads, without_metrics
    )
    no_target = autoscaling.metric_violations(drawing, live_overlay, without_target, autoscalers)

    # assert
    assert_caught(no_metrics, f"{ref(real[0])} reports no CPU use of {ref(obj)}'s pods")
    assert_caught(no_target, f"{ref(real[0])} targets {ref(obj)}, which does not exist")


def scale_out(
    drawing: Drawing, overlay: str, live_api: Any, service: Workload, bound: float
) -> tuple[traffic.Seen, float, int]:
    """One service's autoscaler given LOAD_TARGET_PERCENT under the service's traffic until the
    service runs more Ready replicas than before, its spec put back whatever happens; what the
    traffic met, the seconds from the change to the scale-out, and the replicas then Ready."""
    namespace = drawing.namespace
    scaling = drawing.autoscaled(overlay, service)
    assert scaling is not None
    route = traffic_route(drawing, overlay, live_api, service)
    obj = find(observe(live_api, namespace).workloads, service.kind, service.name)
    assert obj is not None, f"{service.kind}/{service.name} is not running"
    floor = max(service.replicas, len(ready_pods(observe(live_api, namespace), obj)))
    if floor >= scaling.max:
        pytest.skip(f"not verified: {service.name} runs {floor} replicas, its maximum already")
    saved = autoscaling.spec(live_api, namespace, service.name)
    found: dict[str, int] = {}

    def change() -> float:
        autoscaling.lower_cpu_target(live_api, namespace, service.name, saved)
        started = time.monotonic()

        def scaled_out() -> float:
            now = observe(live_api, namespace)
            violations = autoscaling.scale_out_violations(service, now, floor)
            if violations:
                raise NotYet(violations)
            found["ready"] = len(ready_pods(now, obj))
            return time.monotonic() - started

        return eventually(
            scaled_out,
            timeout=bound + 30,
            interval=0.5,
            what=f"{service.name} scaled out above {floor} replicas by its autoscaler",
            hint=f"kubectl -n {namespace} describe hpa {service.name}; kubectl top pods",
        )

    try:
        seen, took = under_traffic(live_api, drawing, route, change)
    finally:  # the drawing's target again; the replicas come back in its scale-down window
        autoscaling.restore(live_api, namespace, service.name, saved)
    return seen, took, found["ready"]


@pytest.mark.usefixtures("destructive")
def test_every_autoscaled_service_scales_out_under_load_within_the_slo(
    drawing: Drawing, live_overlay: str, live_api: Any
) -> None:
    """Each autoscaled service, under the rolling update's traffic, with its autoscaler's CPU
    target lowered to 1 % (every serving pod over it; `kubepromises.autoscaling` says why):
    the autoscaler reads the pods' CPU use and scales the service out, a replica above what ran
    before is Ready within the drawing's `scale-out` SLO, and no request fails meanwhile. The
    target is put back after; the way back to the minimum is not waited for."""
    # arrange
    services = autoscaled_services(drawing, live_overlay)
    slo = next((s for s in drawing.slos if s.name == autoscaling.SCALE_OUT_SLO), None)
    bound = slo.at_most if slo is not None else autoscaling.SCALE_OUT_WITHOUT_SLO_SECONDS

    for service in services:
        # act
        seen, took, ready = scale_out(drawing, live_overlay, live_api, service, bound)

        # assert: out within the bound, and no request failed on the way
        print(f"{service.name}: {ready} Ready {took:.1f} s after the change (bound {bound:g} s)")
        assert took <= bound, (
            f"{service.name} took {took:.1f} s to scale out; the bound is {bound:g} s"
        )
        assert seen.sent >= traffic.RATE * took / 2, f"the traffic hardly ran: {seen}"
        assert not seen.failures, f"{service.name}'s scale-out failed requests: {seen}"


@dataclass(frozen=True)
class Unsafe:
    """A service stripped of what makes its pods' way in and out safe, and its traffic."""

    service: Workload
    route: traffic.Route
    taken: list[str]


@pytest.fixture(scope="module")
def unsafe(
    drawing: Drawing, live_overlay: str, live_api: Any, destructive: None
) -> Iterator[Unsafe]:
    """The first service the traffic reaches (through a node port first), its template saved,
    then stripped of its preStop hook and readiness and startup probes and rolled out; put
    back once the module's tests are done. The two controls that use it share it, and come
    last in the module: no other test meets the stripped service."""
    namespace = drawing.namespace
    observed_now = observe(live_api, namespace)
    candidates = [
        s
        for s in drawing.services
        if s in drawing.workloads_in(live_overlay)
        and s.kind == "Deployment"
        and s.replicas >= 2
        and not rollouts.autoscaled(live_api, namespace, s.name)
    ]
    routes = [(s, traffic.route_to(drawing, live_overlay, observed_now, s)) for s in candidates]
    usable = [(s, r) for s, r in routes if isinstance(r, traffic.Route)]
    usable.sort(key=lambda pair: pair[1].pod is not None)  # node ports first
    if not usable:
        pytest.skip(f"not verified: no service to change with a route for traffic: {routes}")
    service = usable[0][0]
    saved = rollouts.template(live_api, namespace, service.name)
    try:
        taken = rollouts.strip_safety(live_api, namespace, service.name)
        if not taken:
            pytest.skip(f"not verified: {service.name} has no preStop or probes to take away")
        rollouts.wait_settled(live_api, namespace, service.name)
        yield Unsafe(service, traffic_route(drawing, live_overlay, live_api, service), taken)
    finally:
        rollouts.scale(live_api, namespace, service.name, service.replicas)
        rollouts.restore(live_api, namespace, service.name, saved)
        rollouts.wait_settled(live_api, namespace, service.name)


def until_failures(
    live_api: Any, drawing: Drawing, unsafe: Unsafe, change: Callable[[], float]
) -> list[traffic.Seen]:
    """The change under traffic, again until the traffic meets failures (at most
    UNSAFE_CHANGES_AT_MOST times); what each time met."""
    seen: list[traffic.Seen] = []
    while len(seen) < UNSAFE_CHANGES_AT_MOST and not any(s.failures for s in seen):
        seen.append(under_traffic(live_api, drawing, unsafe.route, change)[0])
    return seen


def test_negative_control_a_rollout_without_prestop_and_probes_fails_requests(
    drawing: Drawing, live_api: Any, unsafe: Unsafe
) -> None:
    """The rolling update above, of a service stripped of its preStop hook and its readiness
    and startup probes: the check sees a rollout that is not safe."""
    # act: unsafe rollouts under the same traffic, until one fails requests
    change = rolled_out(live_api, drawing.namespace, unsafe.service.name)
    seen = until_failures(live_api, drawing, unsafe, change)

    # assert: the check saw requests fail
    what = f"rollouts of {unsafe.service.name} without {', '.join(unsafe.taken)}"
    print(f"{what}: " + "; ".join(str(s) for s in seen))
    assert any(s.failures for s in seen), f"{len(seen)} {what} failed no request: {seen}"


def test_negative_control_scaling_without_prestop_and_probes_fails_requests(
    drawing: Drawing, live_api: Any, unsafe: Unsafe
) -> None:
    """The scaling above, of a service stripped of its preStop hook and its readiness and
    startup probes: the check sees a scaling that is not safe."""
    # act: unsafe scalings under the same traffic, until one fails requests
    change = scaled_out_and_back(
        live_api, drawing.namespace, unsafe.service.name, unsafe.service.replicas
    )
    seen = until_failures(live_api, drawing, unsafe, change)

    # assert: the check saw requests fail
    what = f"scalings of {unsafe.service.name} without {', '.join(unsafe.taken)}"
    print(f"{what}: " + "; ".join(str(s) for s in seen))
    assert any(s.failures for s in seen), f"{len(seen)} {what} failed no request: {seen}"
