"""The drawing's replica counts."""

from __future__ import annotations

from suites.static.manifest import Rendered, ref, replicas


def replica_violations(rendered: Rendered) -> list[str]:
    violations = []
    for promised in rendered.promised_workloads():
        obj = rendered.get(promised.kind, promised.name)
        if obj is None:
            violations.append(f"{promised.kind}/{promised.name} is missing")
        elif (count := replicas(obj, rendered)) != promised.replicas:
            violations.append(
                f"{ref(obj)} has {count} replicas, the drawing promises {promised.replicas}"
            )
    return violations
