"""deploy-drawing lets Traefik serve a drawing's namespace and takes it back: the Role for the
namespace's Secrets first, then the namespace added to Traefik's list (one rollout); before the
namespace is deleted, the namespace taken off the list. A fake kubectl holds the Deployment's
arguments and records the calls; the real calls run live (suites/conformance)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from testbed import ingress_namespaces
from testbed.ingress_namespaces import FLAG, serve, served, serving, stop_serving

ARGS = ["--ping=true", FLAG + "demo-micro", "--log.format=json"]


class FakeKubectl:
    """Answers `get deployment traefik` with its arguments; applies patches to them."""

    def __init__(self, args: list[str]) -> None:
        self.args = list(args)
        self.calls: list[tuple[str, ...]] = []
        self.applied: list[str] = []

    def __call__(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        self.calls.append(args)
        if "get" in args:
            return json.dumps(self.args)
        if "patch" in args:
            (operation,) = json.loads(args[args.index("-p") + 1])
            self.args = operation["value"]
        if "apply" in args and stdin is not None:
            self.applied.append(stdin.decode())
        return ""

    def verbs(self) -> list[str]:
        return [
            next(a for a in call if a in {"get", "patch", "rollout", "apply"})
            for call in self.calls
        ]


def test_serving_a_drawing_grants_its_secrets_then_adds_it_to_the_list() -> None:
    kubectl = FakeKubectl(ARGS)
    serve(kubectl, "shop")
    assert served(kubectl.args) == ["demo-micro", "shop"]
    assert kubectl.verbs() == ["apply", "get", "patch", "rollout"]
    (role, binding) = list(yaml.safe_load_all(kubectl.applied[0]))
    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", "shop")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}
    ]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "traefik", "namespace": "ingress-traefik"}
    ]


def test_a_served_namespace_is_not_rolled_out_again() -> None:
    kubectl = FakeKubectl(ARGS)
    serve(kubectl, "demo-micro")
    assert kubectl.args == ARGS
    assert kubectl.verbs() == ["apply", "get"]


def test_a_deleted_drawing_is_taken_off_the_list() -> None:
    kubectl = FakeKubectl([*ARGS[:1], FLAG + "demo-micro,shop", *ARGS[2:]])
    stop_serving(kubectl, "shop")
    assert kubectl.args == ARGS
    assert kubectl.verbs() == ["get", "patch", "rollout"]


def test_the_last_namespace_is_never_taken_off() -> None:
    """An empty list would make Traefik watch every namespace, and need every Secret."""
    kubectl = FakeKubectl(ARGS)
    with pytest.raises(ValueError, match="at least one namespace"):
        stop_serving(kubectl, "demo-micro")
    assert kubectl.verbs() == ["get"]


def test_arguments_without_the_list_are_named() -> None:
    with pytest.raises(ValueError, match=re.escape(f"no {FLAG}")):
        serving(["--ping=true"], ["shop"])


def test_the_role_template_is_filled_with_the_namespace() -> None:
    text = ingress_namespaces.secret_reader("shop")
    assert "SERVED_NAMESPACE" not in text
    assert {d["metadata"]["namespace"] for d in yaml.safe_load_all(text) if d} == {"shop"}
