"""Replicated workloads survive a drain (PDBs) and the loss of a node (spread across nodes)."""

from __future__ import annotations

from suites.static.manifest import Obj, Rendered, pod_labels, pod_spec, ref, replicas, selects

HOSTNAME = "kubernetes.io/hostname"


def _replicated(rendered: Rendered) -> list[Obj]:
    return [w for w in rendered.workloads() if replicas(w, rendered) > 1]


def disruption_budget_violations(rendered: Rendered) -> list[str]:
    """minAvailable 1 for every replicated workload: a drain never takes the last ready pod."""
    violations = []
    for workload in _replicated(rendered):
        labels = pod_labels(workload)
        budgets = [
            pdb
            for pdb in rendered.of_kind("PodDisruptionBudget")
            if selects(pdb["spec"].get("selector", {}).get("matchLabels", {}), labels)
        ]
        if not budgets:
            violations.append(f"{ref(workload)} has no PodDisruptionBudget")
        for pdb in budgets:
            minimum = pdb["spec"].get("minAvailable")
            count = replicas(workload, rendered)
            if not isinstance(minimum, int) or not 1 <= minimum < count:
                violations.append(
                    f"{ref(pdb)} has minAvailable {minimum}; with {count} replicas it "
                    "must be at least 1 and leave one pod evictable"
                )
    return violations


def _spreads(workload: Obj) -> bool:
    spec = pod_spec(workload)
    labels = pod_labels(workload)
    for constraint in spec.get("topologySpreadConstraints", []):
        if (
            constraint["topologyKey"] == HOSTNAME
            and constraint["whenUnsatisfiable"] == "ScheduleAnyway"
            and selects(constraint.get("labelSelector", {}).get("matchLabels", {}), labels)
        ):
            return True
    preferred = (
        spec.get("affinity", {})
        .get("podAntiAffinity", {})
        .get("preferredDuringSchedulingIgnoredDuringExecution", [])
    )
    return any(
        term["podAffinityTerm"]["topologyKey"] == HOSTNAME
        and selects(term["podAffinityTerm"].get("labelSelector", {}).get("matchLabels", {}), labels)
        for term in preferred
    )


def _hard_rules(workload: Obj) -> bool:
    spec = pod_spec(workload)
    return any(
        c["whenUnsatisfiable"] == "DoNotSchedule" for c in spec.get("topologySpreadConstraints", [])
    ) or bool(
        spec.get("affinity", {})
        .get("podAntiAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution")
    )


def spreading_violations(rendered: Rendered) -> list[str]:
    """Replicas prefer different nodes, softly, so a one-node cluster still runs them all."""
    violations = []
    for workload in _replicated(rendered):
        if not _spreads(workload):
            violations.append(f"{ref(workload)} does not spread its replicas across nodes")
    for workload in rendered.workloads():
        if _hard_rules(workload):
            violations.append(
                f"{ref(workload)} has a hard spreading rule; it would not schedule on one node"
            )
    return violations


#: How long a replica may stay bound to a lost node before it is replaced elsewhere.
NODE_LOSS_TOLERATION_SECONDS = 60
NODE_LOSS_TAINTS = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")


def node_loss_violations(rendered: Rendered) -> list[str]:
    """Every replicated Deployment leaves a lost node within a minute (not the default 300 s)."""
    violations = []
    for workload in _replicated(rendered):
        if workload["kind"] != "Deployment":
            continue
        tolerations = pod_spec(workload).get("tolerations", [])
        for taint in NODE_LOSS_TAINTS:
            seconds = [
                t.get("tolerationSeconds")
                for t in tolerations
                if t.get("key") == taint and t.get("effect") == "NoExecute"
            ]
            if not seconds or not all(
                isinstance(s, int) and s <= NODE_LOSS_TOLERATION_SECONDS for s in seconds
            ):
                stays = seconds or "the default 300"
                violations.append(f"{ref(workload)} stays on a node with {taint} for {stays} s")
    return violations
