"""HorizontalPodAutoscalers for the four services: the drawing's `replicas` to its
`autoscaling.max`, on its `autoscaling.cpu_percent`, and a CPU request to take a share of."""

from __future__ import annotations

from kubepromises.static import cpu_target
from suites import promises
from suites.static.manifest import Rendered, main_container, ref


def autoscaling_violations(rendered: Rendered) -> list[str]:
    violations = []
    for service in promises.SERVICES:
        scaling = service.autoscaling
        if scaling is None or not rendered.deploys(scaling.piece):
            continue
        hpas = [
            h
            for h in rendered.of_kind("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}
        ]
        if len(hpas) != 1:
            violations.append(f"Deployment/{service.name} has {len(hpas)} autoscalers, not 1")
            continue
        hpa = hpas[0]
        minimum, maximum = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        if minimum != service.replicas:
            violations.append(f"{ref(hpa)} has minReplicas {minimum}, not {service.replicas}")
        if maximum != scaling.max:
            violations.append(f"{ref(hpa)} has maxReplicas {maximum}, not {scaling.max}")
        if (cpu := cpu_target(hpa)) != scaling.cpu_percent:
            violations.append(f"{ref(hpa)} has CPU target {cpu}%, not {scaling.cpu_percent}%")
        deployment = rendered.get("Deployment", service.name)
        if deployment is None:
            violations.append(f"{ref(hpa)} targets Deployment/{service.name}, which is missing")
        elif "cpu" not in main_container(deployment).get("resources", {}).get("requests", {}):
            violations.append(
                f"{ref(hpa)} scales on CPU, but Deployment/{service.name} requests none"
            )
    return violations
