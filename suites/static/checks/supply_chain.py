"""The supply chain's pins outside the manifests: GitHub Actions by commit, and the ingress
controller's RBAC (testbed/addons/traefik.yaml) reading Secrets only where it serves Ingresses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: `uses: owner/repo[/path]@<40 hex>`, optionally followed by a comment naming the tag.
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)")
#: Verbs that read a resource's contents.
READ_VERBS = frozenset({"get", "list", "watch", "*"})


def unpinned_actions(workflows: Mapping[str, str]) -> list[str]:
    """Each `uses:` of each workflow (file name -> text) not pinned to a full commit SHA.
    Local actions (`./path`) and `docker://` references are named too: neither is pinned."""
    violations = []
    for name, text in sorted(workflows.items()):
        for number, line in enumerate(text.splitlines(), start=1):
            found = USES.match(line)
            if found and not PINNED_ACTION.match(found["ref"]):
                violations.append(
                    f"{name}:{number} uses {found['ref']}, not pinned to a 40-hex commit SHA"
                )
    return violations


def read_workflows(folder: Path) -> dict[str, str]:
    """The workflow files of a .github/workflows folder, by name."""
    return {path.name: path.read_text() for path in sorted(folder.glob("*.y*ml"))}


def _grants(rule: Mapping[str, Any], resource: str) -> bool:
    """The rule lets its subject read `resource` of the core API group."""
    groups = set(rule.get("apiGroups", []))
    resources = set(rule.get("resources", []))
    verbs = set(rule.get("verbs", []))
    return (
        bool(groups & {"", "*"}) and bool(resources & {resource, "*"}) and bool(verbs & READ_VERBS)
    )


def cluster_wide_secret_readers(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each ClusterRole that lets its subjects get, list or watch Secrets in every namespace."""
    return [
        f"ClusterRole/{obj['metadata']['name']} reads Secrets in every namespace"
        for obj in objects
        if obj and obj.get("kind") == "ClusterRole"
        if any(_grants(rule, "secrets") for rule in obj.get("rules") or [])
    ]


def secret_readers_outside(
    objects: Sequence[Mapping[str, Any]], served: Iterable[str]
) -> list[str]:
    """Each Role reading Secrets in a namespace the controller does not serve, and each served
    namespace without such a Role (Traefik waits for its Secret cache in every namespace it
    watches: without the Role it serves no Ingress at all)."""
    wanted = set(served)
    readers = {
        obj["metadata"].get("namespace", ""): obj["metadata"]["name"]
        for obj in objects
        if obj and obj.get("kind") == "Role"
        if any(_grants(rule, "secrets") for rule in obj.get("rules") or [])
    }
    violations = [
        f"Role/{name} reads Secrets in namespace {namespace!r}, where no Ingress is served"
        for namespace, name in sorted(readers.items())
        if namespace not in wanted
    ]
    violations += [
        f"namespace {namespace!r} is served but no Role lets the controller read its Secrets"
        for namespace in sorted(wanted - set(readers))
    ]
    return violations
