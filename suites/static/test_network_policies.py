"""Deny by default, DNS for everyone, each database reachable from its own service only."""

from suites.static.checks.network_policies import (
    call_violations,
    database_isolation_violations,
    default_deny_violations,
    dns_violations,
    log_store_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered


def test_traffic_is_denied_unless_a_policy_allows_it(rendered: Rendered) -> None:
    assert_holds(default_deny_violations(rendered))


def test_every_pod_may_resolve_names(rendered: Rendered) -> None:
    assert_holds(dns_violations(rendered))


def test_each_database_accepts_connections_only_from_its_own_service(rendered: Rendered) -> None:
    assert_holds(database_isolation_violations(rendered))


def test_every_connection_the_system_needs_is_allowed(rendered: Rendered) -> None:
    assert_holds(call_violations(rendered))


def test_the_log_store_takes_logs_from_its_own_namespace_only(rendered: Rendered) -> None:
    assert_holds(log_store_violations(rendered))


def test_a_log_store_open_to_shippers_of_every_namespace_is_caught(broken: Rendered) -> None:
    # arrange: the log-store component's rule before 5 Dec 2026: a log shipper of any namespace
    (rule,) = broken.one("NetworkPolicy", "elasticsearch")["spec"]["ingress"]
    (shipper,) = [peer for peer in rule["from"] if "demo-micro.dev/log-shipper" in str(peer)]
    shipper["namespaceSelector"] = {}
    # act / assert
    assert_caught(
        log_store_violations(broken),
        "a pod labelled demo-micro.dev/log-shipper=true in another namespace may connect to "
        "elasticsearch:9200",
    )


def test_a_missing_default_deny_is_caught(broken: Rendered) -> None:
    # arrange
    broken.remove("NetworkPolicy", "default-deny-all")
    # act / assert
    assert_caught(default_deny_violations(broken), "no NetworkPolicy denies all")


def test_a_missing_dns_allowance_is_caught(broken: Rendered) -> None:
    broken.remove("NetworkPolicy", "allow-dns-egress")
    assert_caught(dns_violations(broken), "Deployment/api-gateway pods may not resolve names")


def test_a_database_open_to_another_service_is_caught(broken: Rendered) -> None:
    policy = broken.one("NetworkPolicy", "order-db")
    policy["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api-gateway"}}}
    )
    broken.one("NetworkPolicy", "api-gateway")["spec"]["egress"].append({})
    assert_caught(database_isolation_violations(broken), "api-gateway may connect to order-db:5432")


def test_a_database_open_to_everyone_is_caught(broken: Rendered) -> None:
    del broken.one("NetworkPolicy", "inventory-db")["spec"]["ingress"][0]["from"]
    assert_caught(
        database_isolation_violations(broken),
        "pods outside the namespace may connect to inventory-db:5432",
    )


def test_a_service_cut_off_from_its_database_is_caught(broken: Rendered) -> None:
    egress = broken.one("NetworkPolicy", "notification-service")["spec"]["egress"]
    broken.one("NetworkPolicy", "notification-service")["spec"]["egress"] = egress[1:]
    violations = database_isolation_violations(broken)
    assert_caught(
        violations, "notification-service may not connect to its database notification-db:27017"
    )


def test_a_blocked_call_between_services_is_caught(broken: Rendered) -> None:
    ingress = broken.one("NetworkPolicy", "inventory-service")["spec"]["ingress"][0]
    ingress["from"] = ingress["from"][:1]
    assert_caught(
        call_violations(broken), "order-service may not connect to inventory-service:9000"
    )


def test_a_gateway_closed_to_the_outside_is_caught(broken: Rendered) -> None:
    broken.one("NetworkPolicy", "api-gateway")["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    assert_caught(call_violations(broken), "api-gateway:8080 is not reachable from outside")
