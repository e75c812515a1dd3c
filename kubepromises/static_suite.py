"""The generic static suite: what a drawing counts, against each overlay's rendered manifests.

Run it on any drawing: ``pytest --pyargs kubepromises.static_suite --drawing PATH``; a project
may also import its tests into a module of its own suite. Every test runs once per overlay of
the drawing. Each promise is checked on the real objects (no violation) and on a broken copy (a
negative control: the same check must name the breakage), so a run on any drawing also shows
that its checks can fail. A control skips when the drawing gives it nothing to break.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import pytest

from kubepromises import policies
from kubepromises.drawing import Drawing, Workload
from kubepromises.static import (
    WORKLOAD_KINDS,
    Obj,
    assert_caught,
    assert_holds,
    autoscaled_replica_violations,
    autoscalers_of,
    autoscaling_violations,
    configuration_violations,
    container_violations,
    cpu_target,
    deploys_every_workload,
    find,
    ingress_violations,
    namespace_violations,
    node_port_violations,
    of_kind,
    pod_count_violations,
    pod_labels,
    ref,
    replica_violations,
    replicas,
    service_count_violations,
    service_violations,
    volume_violations,
    workload_violations,
)


@pytest.fixture
def manifests(
    rendered_manifests: Mapping[str, Sequence[Obj]], drawing_overlay: str
) -> Sequence[Obj]:
    """One overlay's objects, as rendered (not to be changed)."""
    return rendered_manifests[drawing_overlay]


@pytest.fixture
def broken(manifests: Sequence[Obj]) -> list[Obj]:
    """A private copy of the overlay's objects for a negative control to break."""
    return copy.deepcopy(list(manifests))


def full_overlays(drawing: Drawing) -> list[str]:
    """The overlays the drawing's total of pods applies to; the test skips when there is none."""
    overlays = [o.name for o in drawing.overlays if deploys_every_workload(drawing, o.name)]
    if not overlays:
        pytest.skip("no overlay deploys every workload, so the total of pods applies to none")
    return overlays


def unscaled_workload(
    drawing: Drawing, overlay: str, objects: Sequence[Obj]
) -> tuple[Workload, Obj]:
    """The overlay's first workload of the drawing that no autoscaler targets, with its object;
    the test skips when an autoscaler targets every one."""
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        if obj is not None and not autoscalers_of(obj, objects):
            return workload, obj
    pytest.skip(f"an autoscaler targets every workload of overlay {overlay!r}")


def planted_autoscaler(drawing: Drawing, workload: Workload) -> Obj:
    """An autoscaler of the workload at the drawing's count (and one more at most), as
    manifests would write it, for a control to plant."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": workload.name, "namespace": drawing.namespace},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": workload.kind,
                "name": workload.name,
            },
            "minReplicas": workload.replicas,
            "maxReplicas": workload.replicas + 1,
        },
    }


def autoscaled_workload(
    drawing: Drawing, overlay: str, objects: list[Obj]
) -> tuple[Workload, Obj, Obj]:
    """The overlay's first workload of the drawing that an autoscaler targets, with its object
    and its autoscaler. An overlay without autoscalers gets one planted on its first workload,
    at the drawing's count, as the manifests would write it (`replicas` left to it): a control
    then breaks that."""
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        if obj is not None and (autoscalers := autoscalers_of(obj, objects)):
            return workload, obj, autoscalers[0]
    workload = drawing.workloads_in(overlay)[0]
    obj = find(objects, workload.kind, workload.name)
    assert obj is not None, f"{workload.kind}/{workload.name} is missing"
    obj["spec"].pop("replicas", None)
    autoscaler = planted_autoscaler(drawing, workload)
    objects.append(autoscaler)
    return workload, obj, autoscaler


def drawn_autoscaler(drawing: Drawing, overlay: str, objects: list[Obj]) -> tuple[Workload, Obj]:
    """The overlay's first workload the drawing autoscales there, with its autoscaler; the test
    skips when the drawing autoscales none in the overlay."""
    for workload in drawing.workloads_in(overlay):
        obj = find(objects, workload.kind, workload.name)
        if (
            drawing.autoscaled(overlay, workload)
            and obj
            and (found := autoscalers_of(obj, objects))
        ):
            return workload, found[0]
    pytest.skip(f"the drawing autoscales no workload of overlay {overlay!r}")


# -- the promises hold --------------------------------------------------------------------------


def test_everything_lives_in_the_drawings_namespace(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(namespace_violations(drawing, drawing_overlay, manifests))


def test_the_overlay_deploys_exactly_the_drawings_workloads(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(workload_violations(drawing, drawing_overlay, manifests))


def test_every_workload_runs_the_drawings_replica_count(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(replica_violations(drawing, drawing_overlay, manifests))


def test_an_autoscaler_alone_owns_the_replica_count_of_its_workload(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(autoscaled_replica_violations(drawing, drawing_overlay, manifests))


def test_every_autoscaled_workload_has_the_drawings_autoscaler_and_no_other_has_one(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(autoscaling_violations(drawing, drawing_overlay, manifests))


def test_every_volume_is_claimed_at_the_drawings_size_and_mounted(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(volume_violations(drawing, drawing_overlay, manifests))


def test_the_configmaps_and_secrets_are_the_drawings_by_name(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(configuration_violations(drawing, drawing_overlay, manifests))


def test_every_workload_has_a_service_of_its_name_on_the_drawings_port(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(service_violations(drawing, drawing_overlay, manifests))


def test_there_are_at_least_the_drawings_number_of_services(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(service_count_violations(drawing, drawing_overlay, manifests))


def test_an_overlay_of_every_workload_runs_the_drawings_total_of_pods(
    drawing: Drawing, rendered_manifests: Mapping[str, Sequence[Obj]]
) -> None:
    overlays = full_overlays(drawing)
    for overlay in overlays:
        assert_holds(pod_count_violations(drawing, overlay, rendered_manifests[overlay]))


def test_every_node_port_exposes_its_workload(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(node_port_violations(drawing, drawing_overlay, manifests))


def test_the_ingress_routes_the_drawings_host_to_its_workload(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(ingress_violations(drawing, drawing_overlay, manifests))


def test_every_container_has_the_drawings_probes_requests_and_limits(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(container_violations(drawing, drawing_overlay, manifests))


def test_the_network_policies_let_every_call_of_the_drawing_through(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(policies.call_violations(drawing, drawing_overlay, manifests))


def test_the_network_policies_keep_each_data_store_to_its_callers(
    drawing: Drawing, drawing_overlay: str, manifests: Sequence[Obj]
) -> None:
    assert_holds(policies.isolation_violations(drawing, drawing_overlay, manifests))


# -- negative controls: each check names a breakage ---------------------------------------------


def test_an_object_outside_the_namespace_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    moved = next(o for o in broken if o["kind"] != "Namespace")
    moved["metadata"]["namespace"] = f"not-{drawing.namespace}"
    # act / assert
    assert_caught(
        namespace_violations(drawing, drawing_overlay, broken),
        f"{moved['kind']}/{moved['metadata']['name']} is in namespace 'not-{drawing.namespace}'",
    )


def test_a_missing_workload_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    workload = drawing.workloads_in(drawing_overlay)[0]
    removed = find(broken, workload.kind, workload.name)
    assert removed is not None
    broken.remove(removed)
    # act / assert
    assert_caught(
        workload_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} is missing",
    )


def test_another_replica_count_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: a workload no autoscaler sizes, one replica more than drawn
    workload, obj = unscaled_workload(drawing, drawing_overlay, broken)
    obj["spec"]["replicas"] = workload.replicas + 1
    # act / assert
    assert_caught(
        replica_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} has {workload.replicas + 1} replicas; "
        f"{drawing.where(*drawing.field_of(workload), 'replicas')} is {workload.replicas}",
    )


def test_an_autoscaler_minimum_below_the_drawing_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: an autoscaled workload's autoscaler allows one replica fewer than drawn
    workload, _, autoscaler = autoscaled_workload(drawing, drawing_overlay, broken)
    autoscaler["spec"]["minReplicas"] = workload.replicas - 1
    # act / assert
    assert_caught(
        replica_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} has {workload.replicas - 1} replicas; "
        f"{drawing.where(*drawing.field_of(workload), 'replicas')} is {workload.replicas}",
    )


def test_a_replica_count_beside_an_autoscaler_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: an autoscaled workload pins the drawing's count again
    workload, obj, autoscaler = autoscaled_workload(drawing, drawing_overlay, broken)
    obj["spec"]["replicas"] = workload.replicas
    # act / assert
    assert_caught(
        autoscaled_replica_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} sets replicas {workload.replicas} while "
        f"{ref(autoscaler)} owns its count",
    )


def test_an_autoscaler_of_other_bounds_or_cpu_target_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: a drawn autoscaler one replica lower and higher, 10 points off its CPU target,
    # and its Deployment pinning a count again
    workload, autoscaler = drawn_autoscaler(drawing, drawing_overlay, broken)
    spec, entry = autoscaler["spec"], drawing.field_of(workload)
    scaling = workload.autoscaling
    assert scaling is not None
    spec["minReplicas"] = workload.replicas - 1
    spec["maxReplicas"] = scaling.max + 1
    for metric in spec["metrics"]:
        if metric["type"] == "Resource" and metric["resource"]["name"] == "cpu":
            metric["resource"]["target"]["averageUtilization"] = scaling.cpu_percent + 10
    obj = find(broken, workload.kind, workload.name)
    assert obj is not None
    obj["spec"]["replicas"] = workload.replicas
    # act
    violations = autoscaling_violations(drawing, drawing_overlay, broken)
    # assert: each breakage named, with the drawing's field
    assert cpu_target(autoscaler) == scaling.cpu_percent + 10
    assert_caught(
        violations,
        f"has minReplicas {workload.replicas - 1}; {drawing.where(*entry, 'replicas')}",
    )
    assert_caught(
        violations,
        f"has maxReplicas {scaling.max + 1}; {drawing.where(*entry, 'autoscaling', 'max')}",
    )
    assert_caught(
        violations,
        f"has a CPU target of {scaling.cpu_percent + 10}%; "
        f"{drawing.where(*entry, 'autoscaling', 'cpu_percent')}",
    )
    assert_caught(violations, f"{ref(obj)} sets replicas {workload.replicas}: {ref(autoscaler)}")


def test_a_missing_autoscaler_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    workload, autoscaler = drawn_autoscaler(drawing, drawing_overlay, broken)
    broken.remove(autoscaler)
    # act / assert
    assert_caught(
        autoscaling_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} has 0 autoscalers; "
        f"{drawing.where(*drawing.field_of(workload), 'autoscaling')} draws one",
    )


def test_an_autoscaler_the_drawing_does_not_draw_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: an autoscaler planted on the first workload the drawing does not autoscale here
    unscaled = [
        w
        for w in drawing.workloads_in(drawing_overlay)
        if not drawing.autoscaled(drawing_overlay, w)
    ]
    if not unscaled:
        pytest.skip(f"the drawing autoscales every workload of overlay {drawing_overlay!r}")
    workload = unscaled[0]
    broken.append(planted_autoscaler(drawing, workload))
    # act / assert
    assert_caught(
        autoscaling_violations(drawing, drawing_overlay, broken),
        f"{workload.kind}/{workload.name} is sized by HorizontalPodAutoscaler/{workload.name}, "
        f"but {drawing.where(*drawing.field_of(workload))} has no autoscaling",
    )


def test_a_volume_of_another_size_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    volumes = drawing.volumes_in(drawing_overlay)
    if not volumes:
        pytest.skip(f"overlay {drawing_overlay!r} deploys no volume of the drawing")
    volume = volumes[0]
    if volume.template is not None:
        workload = find(broken, "StatefulSet", volume.workload)
        assert workload is not None
        templates = workload["spec"]["volumeClaimTemplates"]
        claim = next(t for t in templates if t["metadata"]["name"] == volume.template)
    else:
        found = find(broken, "PersistentVolumeClaim", volume.pvc_name)
        assert found is not None
        claim = found
    claim["spec"]["resources"]["requests"]["storage"] = "1Mi"
    # act / assert
    index = drawing.volumes.index(volume)
    assert_caught(
        volume_violations(drawing, drawing_overlay, broken),
        f"({volume.pvc_name}) requests 1Mi; {drawing.where('volumes', index, 'size')}",
    )


def test_a_missing_configmap_or_secret_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    promised = [("ConfigMap", n) for n in drawing.configmaps_in(drawing_overlay)]
    promised += [("Secret", n) for n in drawing.secrets]
    if not promised:
        pytest.skip("the drawing names no ConfigMap and no Secret")
    kind, name = promised[0]
    removed = find(broken, kind, name)
    assert removed is not None
    broken.remove(removed)
    # act / assert
    assert_caught(
        configuration_violations(drawing, drawing_overlay, broken), f"{kind}/{name} is missing"
    )


def test_a_workload_without_its_service_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    workload = drawing.workloads_in(drawing_overlay)[0]
    removed = find(broken, "Service", workload.name)
    assert removed is not None
    broken.remove(removed)
    # act / assert
    assert_caught(
        service_violations(drawing, drawing_overlay, broken),
        f"Service/{workload.name} is missing",
    )


def test_too_few_services_are_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    if drawing.min_services == 0:
        pytest.skip("the drawing promises no Service")
    for service in of_kind(broken, "Service"):
        broken.remove(service)
    # act / assert
    assert_caught(
        service_count_violations(drawing, drawing_overlay, broken),
        f"0 Services; {drawing.where('summary', 'min_services')}",
    )


def test_a_pod_total_beyond_the_drawing_is_caught(
    drawing: Drawing, rendered_manifests: Mapping[str, Sequence[Obj]]
) -> None:
    # arrange
    overlay = full_overlays(drawing)[0]
    broken = copy.deepcopy(list(rendered_manifests[overlay]))
    _, obj = unscaled_workload(drawing, overlay, broken)
    total = sum(replicas(w, broken) for w in of_kind(broken, *WORKLOAD_KINDS))
    obj["spec"]["replicas"] = drawing.total_pods[1] + 1 - (total - replicas(obj, broken))
    # act / assert
    assert_caught(
        pod_count_violations(drawing, overlay, broken),
        f"{drawing.total_pods[1] + 1} pods at rest",
    )


def test_a_moved_node_port_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    node_ports = drawing.node_ports_in(drawing_overlay)
    if not node_ports:
        pytest.skip(f"overlay {drawing_overlay!r} deploys no NodePort of the drawing")
    promised = node_ports[0]
    service = find(broken, "Service", promised.service)
    assert service is not None
    moved = promised.node_port - 1 if promised.node_port == 32767 else promised.node_port + 1
    for port in service["spec"]["ports"]:
        if port.get("nodePort") == promised.node_port:
            port["nodePort"] = moved
    # act / assert
    assert_caught(
        node_port_violations(drawing, drawing_overlay, broken),
        f"does not expose port {promised.port} on node port {promised.node_port}",
    )


def test_an_ingress_for_another_host_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange
    route = drawing.ingress
    if not drawing.deploys(drawing_overlay, route.piece):
        pytest.skip(f"overlay {drawing_overlay!r} does not deploy the ingress's piece")
    for ingress in of_kind(broken, "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            if rule.get("host") == route.host:
                rule["host"] = f"not-{route.host}"
    # act / assert
    assert_caught(
        ingress_violations(drawing, drawing_overlay, broken),
        f"no Ingress routes {route.host} to {route.service}:{route.port} "
        f"({drawing.where('ingress')})",
    )


def test_an_overlay_without_its_network_policies_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: every NetworkPolicy gone, so every pod takes every connection
    stores = [w for w in drawing.workloads_in(drawing_overlay) if w.data_store]
    if not stores or len(drawing.workloads_in(drawing_overlay)) < 2:
        pytest.skip("no data store with another workload beside it")
    for policy in of_kind(broken, "NetworkPolicy"):
        broken.remove(policy)
    # act / assert
    assert_caught(
        policies.isolation_violations(drawing, drawing_overlay, broken),
        f"reach {stores[0].name}:{stores[0].port}",
    )


def test_a_call_the_network_policies_stop_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: the first call's target taken out of every policy's ingress, and denied it all
    calls = drawing.calls_in(drawing_overlay)
    if not calls:
        pytest.skip("no call between two workloads of the overlay")
    target = drawing.workload(calls[0].target)
    obj = find(broken, target.kind, target.name)
    assert obj is not None
    labels = pod_labels(obj)
    for policy in of_kind(broken, "NetworkPolicy"):
        if policies.matches(policy["spec"].get("podSelector") or {}, labels):
            broken.remove(policy)
    broken.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny-all-ingress", "namespace": drawing.namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    )
    # act / assert
    assert_caught(
        policies.call_violations(drawing, drawing_overlay, broken),
        f"stop {calls[0].source} → {target.name}:{target.port}",
    )


def test_a_container_without_a_probe_or_limit_the_drawing_expects_is_caught(
    drawing: Drawing, drawing_overlay: str, broken: list[Obj]
) -> None:
    # arrange: the first workload's container loses the drawing's first probe and limit
    promised = drawing.containers
    if not (promised.probes or promised.limits):
        pytest.skip("the drawing expects no probe and no limit of the containers")
    workload = drawing.workloads_in(drawing_overlay)[0]
    obj = find(broken, workload.kind, workload.name)
    assert obj is not None
    container = obj["spec"]["template"]["spec"]["containers"][0]
    gone = []
    if promised.probes:
        container.pop(f"{promised.probes[0]}Probe", None)
        gone.append(f"{promised.probes[0]} probe")
    if promised.limits:
        container.get("resources", {}).get("limits", {}).pop(promised.limits[0], None)
        gone.append(f"{promised.limits[0]} limit")
    # act / assert
    assert_caught(
        container_violations(drawing, drawing_overlay, broken),
        f"container {container['name']} has no {', '.join(gone)}",
    )
