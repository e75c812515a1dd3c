"""The namespaces Traefik serves Ingresses in, and its read access to their Secrets.

Traefik's Kubernetes Ingress provider lists Secrets in every namespace it watches (for TLS
certificates) and serves nothing until that cache has synced. Watching every namespace would
need a ClusterRole reading every Secret of the cluster; instead it watches a list
(`--providers.kubernetesingress.namespaces`) and reads Secrets through a Role in each listed
namespace (testbed/addons/traefik-secrets.yaml). The testbed's own namespace is listed when the
add-on is installed; `deploy-drawing` adds a drawing's namespace and removes it again before
deleting the namespace, so Traefik never restarts watching a namespace without its Role.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from testbed.images import ADDONS

NAMESPACE = "ingress-traefik"
DEPLOYMENT = "traefik"
FLAG = "--providers.kubernetesingress.namespaces="
#: What `kubectl(*args, timeout=..., stdin=...)` of a Testbed does.
Kubectl = Callable[..., str]


def secret_reader(namespace: str) -> str:
    """The Role and RoleBinding that let Traefik read the Secrets of `namespace`."""
    return (ADDONS / "traefik-secrets.yaml").read_text().replace("SERVED_NAMESPACE", namespace)


def served(args: Sequence[str]) -> list[str]:
    """The namespaces Traefik's arguments list, in order."""
    for arg in args:
        if arg.startswith(FLAG):
            return [name for name in arg.removeprefix(FLAG).split(",") if name]
    raise ValueError(f"Traefik's arguments have no {FLAG}…: {list(args)}")


def serving(args: Sequence[str], namespaces: Sequence[str]) -> list[str]:
    """Traefik's arguments with `namespaces` as the served list."""
    if not namespaces:
        # An empty list means every namespace to Traefik, and Secrets cluster-wide.
        raise ValueError("Traefik must serve at least one namespace")
    served(args)  # the flag is there
    return [FLAG + ",".join(namespaces) if arg.startswith(FLAG) else arg for arg in args]


def _current_args(kubectl: Kubectl) -> list[str]:
    out = kubectl(
        "-n", NAMESPACE, "get", "deployment", DEPLOYMENT,
        "-o", "jsonpath={.spec.template.spec.containers[0].args}",
    )  # fmt: skip
    args: list[str] = json.loads(out)
    return args


def _set_served(kubectl: Kubectl, change: Callable[[list[str]], list[str]]) -> None:
    """Rewrite the served list (Traefik rolls out once, if the list changed)."""
    args = _current_args(kubectl)
    wanted = serving(args, change(served(args)))
    if wanted == args:
        return
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": wanted}]
    kubectl(
        "-n", NAMESPACE, "patch", "deployment", DEPLOYMENT, "--type=json", "-p", json.dumps(patch)
    )
    kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{DEPLOYMENT}", "--timeout=120s",
        timeout=150,
    )  # fmt: skip


def serve(kubectl: Kubectl, namespace: str) -> None:
    """Traefik reads `namespace`'s Secrets, then serves its Ingresses (the namespace exists)."""
    kubectl("apply", "-f", "-", stdin=secret_reader(namespace).encode())
    _set_served(kubectl, lambda names: names if namespace in names else [*names, namespace])


def stop_serving(kubectl: Kubectl, namespace: str) -> None:
    """Traefik stops watching `namespace` (before the namespace and its Role go)."""
    _set_served(kubectl, lambda names: [name for name in names if name != namespace])
