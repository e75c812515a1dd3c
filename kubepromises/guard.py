"""Whether the live suite may change the cluster it checks: the guard on its destructive checks.

The checks that change workloads or nodes (a pod deleted, a rollout, a scaling, a ConfigMap
changed, a memory limit lowered, an autoscaler's target lowered, a node lost) run only on a
cluster the user names: `--allow-destructive=CONTEXT`, equal to the kubeconfig context the suite
checks (`--live-context`, else the kubeconfig's current context). Without it each such check is
reported as not verified on this target, with the reason, never passed. A flag naming another
context, or a kubeconfig it cannot be compared with, is a usage error before any test runs: it
changes nothing. A project that brings up its own cluster (and so knows it is its own) overrides
the plugin's `destructive` fixture instead.

Everything here is pure: the decisions are tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

#: The start of every refusal: what the promise matrix shows the check as, and why.
NOT_VERIFIED: Final = "not verified on this target"
#: Namespaces a cluster keeps for itself: a drawing deployed there shares them with the cluster's
#: own pods, which a destructive check would disturb.
CLUSTER_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


class GuardError(ValueError):
    """`--allow-destructive` given, but for another cluster than the one checked, or with no
    context to compare it with."""


def context_of(kubeconfig: Mapping[str, Any], chosen: str | None, source: str) -> str:
    """The context the suite checks: `chosen` (--live-context), else the kubeconfig's current
    one; GuardError when it names none, or a context it does not have."""
    contexts = [c.get("name") for c in kubeconfig.get("contexts") or [] if isinstance(c, dict)]
    name = chosen or kubeconfig.get("current-context")
    if not name:
        raise GuardError(f"{source} names no current context: give --live-context NAME")
    if name not in contexts:
        raise GuardError(
            f"{source} has no context {name!r} (its contexts: {', '.join(map(str, contexts))})"
        )
    return str(name)


def read_context(kubeconfig: Path, chosen: str | None = None) -> str:
    """`context_of` a kubeconfig file; GuardError when it cannot be read as one."""
    try:
        data = yaml.safe_load(kubeconfig.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise GuardError(f"{kubeconfig}: not a readable kubeconfig ({error})") from None
    if not isinstance(data, dict):
        raise GuardError(f"{kubeconfig}: not a kubeconfig (no mapping at its top)")
    return context_of(data, chosen, str(kubeconfig))


def refusal(allowed: str | None, target: str | None, namespace: str) -> str | None:
    """None when the destructive checks may run on the target context; otherwise why not, a
    sentence starting with NOT_VERIFIED. GuardError when `allowed` (--allow-destructive) names
    another context than the target, or there is no target to compare it with."""
    if allowed is not None:
        if target is None:
            raise GuardError(
                f"--allow-destructive={allowed}: no --live-kubeconfig names the cluster checked, "
                "so it cannot be compared; nothing was run"
            )
        if allowed != target:
            raise GuardError(
                f"--allow-destructive={allowed} names another context than the one checked "
                f"({target}); nothing was run"
            )
    if namespace in CLUSTER_NAMESPACES:
        return (
            f"{NOT_VERIFIED}: the drawing's namespace {namespace!r} is one the cluster keeps for "
            "itself; the destructive checks run only in a namespace of the drawing's own"
        )
    if allowed is not None:
        return None
    if target is None:
        return (
            f"{NOT_VERIFIED}: the destructive checks change the cluster, and no "
            "--live-kubeconfig names which one (a project that brings up its own overrides the "
            "`destructive` fixture)"
        )
    return (
        f"{NOT_VERIFIED}: the destructive checks change the cluster (the workloads of namespace "
        f"{namespace}, a node's cordon); run with --allow-destructive={target} to let them "
        "change this one"
    )
