"""Zero-downtime updates: a new pod is Ready before an old one goes."""

from __future__ import annotations

from suites.static.manifest import Rendered, ref


def _is_zero(value: int | str | None) -> bool:
    return value in (0, "0%")


def rolling_update_violations(rendered: Rendered) -> list[str]:
    violations = []
    for deployment in rendered.of_kind("Deployment"):
        strategy = deployment["spec"].get("strategy", {})
        if strategy.get("type") != "RollingUpdate":
            violations.append(f"{ref(deployment)} does not update by RollingUpdate")
            continue
        rolling = strategy.get("rollingUpdate", {})
        # The API's defaults are 25% / 25%: both must be written out.
        if not _is_zero(rolling.get("maxUnavailable")):
            violations.append(
                f"{ref(deployment)} has maxUnavailable {rolling.get('maxUnavailable')}, not 0"
            )
        if rolling.get("maxSurge") in (None, 0, "0%"):
            violations.append(
                f"{ref(deployment)} has maxSurge {rolling.get('maxSurge')}, "
                "so it cannot roll with none unavailable"
            )
    for statefulset in rendered.of_kind("StatefulSet"):
        if (
            statefulset["spec"].get("updateStrategy", {}).get("type", "RollingUpdate")
            != "RollingUpdate"
        ):
            violations.append(f"{ref(statefulset)} does not update by RollingUpdate")
    return violations
