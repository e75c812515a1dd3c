"""HorizontalPodAutoscalers for the four services, never below the drawing's replicas."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Rendered, main_container, ref


def autoscaling_violations(rendered: Rendered) -> list[str]:
    if not rendered.deploys("autoscaling"):
        return []
    violations = []
    for service in promises.SERVICES:
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
        minimum = hpa["spec"].get("minReplicas", 1)
        if minimum != promises.HPA_MIN_REPLICAS:
            violations.append(
                f"{ref(hpa)} has minReplicas {minimum}, not {promises.HPA_MIN_REPLICAS}"
            )
        if hpa["spec"]["maxReplicas"] < minimum:
            violations.append(f"{ref(hpa)} has maxReplicas below minReplicas")
        deployment = rendered.get("Deployment", service.name)
        if deployment is None:
            violations.append(f"{ref(hpa)} targets Deployment/{service.name}, which is missing")
        elif "cpu" not in main_container(deployment).get("resources", {}).get("requests", {}):
            violations.append(
                f"{ref(hpa)} scales on CPU, but Deployment/{service.name} requests none"
            )
    return violations
