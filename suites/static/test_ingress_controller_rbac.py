"""The ingress controller reads Secrets only in the namespaces it serves Ingresses in: no
ClusterRole the testbed applies (its add-ons, every overlay) reads Secrets, and Traefik's Role
for them is in each namespace it watches and nowhere else. It keeps the rest of what Traefik's
Kubernetes Ingress provider reads (its documented RBAC without Secrets)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from suites.static.checks.supply_chain import cluster_wide_secret_readers, secret_readers_outside
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered
from testbed import images, ingress_namespaces
from testbed.settings import Settings

#: What the provider lists and watches cluster-wide (pkg/provider/kubernetes/ingress/client.go).
PROVIDER_READS = {
    ("", "services"),
    ("", "nodes"),
    ("discovery.k8s.io", "endpointslices"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "ingressclasses"),
}


def applied_addons(*, offline: bool) -> list[dict[str, Any]]:
    """Every object of the add-ons the testbed installs in that mode, as it renders them."""
    settings = Settings.from_env()
    return [
        document
        for name in images.addon_manifests(offline=offline)
        for document in yaml.safe_load_all(
            images.render_addon(name, offline=offline, settings=settings)
        )
        if document
    ]


def traefik(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and "traefik" in o["metadata"]["name"])


def traefik_args(objects: list[dict[str, Any]]) -> list[str]:
    args: list[str] = traefik(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    return args


def own_namespace_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The add-ons plus the Role the testbed applies in its own namespace after the manifests."""
    reader = ingress_namespaces.secret_reader(Settings.from_env().namespace)
    return objects + [d for d in yaml.safe_load_all(reader) if d]


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_no_cluster_role_the_testbed_installs_reads_secrets(offline: bool) -> None:
    assert_holds(cluster_wide_secret_readers(applied_addons(offline=offline)))


def test_no_cluster_role_of_an_overlay_reads_secrets(rendered: Rendered) -> None:
    assert_holds(cluster_wide_secret_readers(rendered.objects))


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_traefik_reads_secrets_only_in_the_namespaces_it_serves(offline: bool) -> None:
    objects = own_namespace_objects(applied_addons(offline=offline))
    served = ingress_namespaces.served(traefik_args(objects))
    assert served == [Settings.from_env().namespace]
    assert_holds(secret_readers_outside(objects, served))


def test_traefik_keeps_what_its_ingress_provider_reads() -> None:
    rules = traefik(applied_addons(offline=True), "ClusterRole")["rules"]
    granted = {
        (group, resource)
        for rule in rules
        if {"list", "watch"} <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert granted >= PROVIDER_READS, PROVIDER_READS - granted


def test_the_old_cluster_wide_secret_rule_is_caught() -> None:
    # arrange: the add-ons with Traefik's ClusterRole reading Secrets again, as before
    objects = applied_addons(offline=True)
    traefik(objects, "ClusterRole")["rules"][0]["resources"].append("secrets")
    # act / assert
    assert_caught(
        cluster_wide_secret_readers(objects),
        "ClusterRole/traefik-ingress reads Secrets in every namespace",
    )


def test_a_wildcard_rule_is_caught() -> None:
    objects = applied_addons(offline=True)
    traefik(objects, "ClusterRole")["rules"].append(
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}
    )
    assert_caught(cluster_wide_secret_readers(objects), "ClusterRole/traefik-ingress reads Secrets")


def test_a_served_namespace_without_its_role_is_caught() -> None:
    objects = applied_addons(offline=True)  # without the Role the manifests' apply adds
    served = ingress_namespaces.served(traefik_args(objects))
    assert_caught(
        secret_readers_outside(objects, served),
        f"namespace {served[0]!r} is served but no Role lets the controller read its Secrets",
    )


def test_a_role_in_a_namespace_not_served_is_caught() -> None:
    objects = own_namespace_objects(applied_addons(offline=True))
    objects += [d for d in yaml.safe_load_all(ingress_namespaces.secret_reader("kube-system")) if d]
    assert_caught(
        secret_readers_outside(objects, ingress_namespaces.served(traefik_args(objects))),
        "Role/traefik-secrets reads Secrets in namespace 'kube-system', where no Ingress is served",
    )
