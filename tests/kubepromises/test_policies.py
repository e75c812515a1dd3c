"""NetworkPolicies read statically (`kubepromises.policies.allows`): the API's rules on small
objects written here, each case beside the one that differs from it by the rule it shows."""

from __future__ import annotations

from typing import Any

import pytest

from kubepromises.policies import allows, matches
from kubepromises.static import Obj

NAMESPACE = "ns"


def workload(name: str, port: int = 5432) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"ports": [{"name": "db", "containerPort": port}]}]},
            }
        },
    }


def policy(selected: str | None, **spec: Any) -> Obj:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": f"p-{selected}", "namespace": NAMESPACE},
        "spec": {"podSelector": {"matchLabels": {"app": selected}} if selected else {}, **spec},
    }


CLIENT, STORE = workload("client"), workload("store")


def from_client(**rule: Any) -> dict[str, Any]:
    return {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], **rule}


def test_without_policies_everything_is_let_through() -> None:
    assert allows([CLIENT, STORE], CLIENT, STORE, 5432)


def test_a_policy_selecting_the_target_admits_only_what_its_rules_name() -> None:
    deny = policy("store", policyTypes=["Ingress"])
    assert not allows([CLIENT, STORE, deny], CLIENT, STORE, 5432)
    admit = policy("store", ingress=[from_client(ports=[{"port": 5432}])])
    assert allows([CLIENT, STORE, admit], CLIENT, STORE, 5432)
    assert not allows([CLIENT, STORE, admit], CLIENT, STORE, 6379), "another port"
    assert not allows([STORE, admit, workload("other")], workload("other"), STORE, 5432)


def test_a_named_port_and_a_port_range_are_resolved() -> None:
    named = policy("store", ingress=[from_client(ports=[{"port": "db"}])])
    assert allows([CLIENT, STORE, named], CLIENT, STORE, 5432)
    ranged = policy("store", ingress=[from_client(ports=[{"port": 5000, "endPort": 5500}])])
    assert allows([CLIENT, STORE, ranged], CLIENT, STORE, 5432)
    assert not allows([CLIENT, STORE, ranged], CLIENT, STORE, 6379)


def test_the_sources_egress_counts_as_much_as_the_targets_ingress() -> None:
    no_egress = policy("client", policyTypes=["Egress"])
    assert not allows([CLIENT, STORE, no_egress], CLIENT, STORE, 5432)
    to_store = policy(
        "client", egress=[{"to": [{"podSelector": {"matchLabels": {"app": "store"}}}]}]
    )
    # without policyTypes, a policy with egress rules governs egress too
    assert allows([CLIENT, STORE, to_store], CLIENT, STORE, 5432)


@pytest.mark.parametrize(
    ("peer", "admits"),
    [
        ({"namespaceSelector": {}}, True),
        ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}}, True),
        ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}, False),
        # other labels of a namespace cannot be read from the manifests: read as admitting
        ({"namespaceSelector": {"matchLabels": {"team": "shop"}}}, True),
        ({"ipBlock": {"cidr": "10.0.0.0/8"}}, True),
    ],
    ids=["any-namespace", "its-own-name", "another-name", "other-labels", "ip-block"],
)
def test_peers_the_manifests_cannot_settle_are_read_as_admitting(
    peer: dict[str, Any], admits: bool
) -> None:
    rule = policy("store", ingress=[{"from": [peer]}])
    assert allows([CLIENT, STORE, rule], CLIENT, STORE, 5432) is admits


def test_selectors_with_expressions() -> None:
    labels = {"app": "store", "tier": "data"}
    assert matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["data"]}]}, labels
    )
    assert not matches(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["data"]}]}, labels
    )
    assert matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert not matches(
        {
            "matchLabels": {"app": "store"},
            "matchExpressions": [{"key": "zone", "operator": "Exists"}],
        },
        labels,
    )
