"""The promise matrix: each promise of the drawing, the tests that check it, its measured figures.

This table is the only place that says which test checks which promise. Tests are named by
node-id prefixes relative to the repository root (a module, a folder ending in ``/``, or a
module and a test function); test files need no markers. ``pending`` prefixes name suites that
may not exist yet: they count as "not run" until they do. Figures name keys of
``reports/measurements.json`` (``fnmatch`` patterns; ``*`` stands for the instance, e.g. the
service). ``suites/reporting_tests/test_matrix_table.py`` keeps the table honest, and
``docs/CHECKLIST.md`` is generated from it (``python -m suites.reporting.checklist``).

Every claimed prefix is resolved against the run's collection (a claim into a collected folder
that names no test stops the run); a figure may carry its threshold (an SLO), which this run's
value must keep; each promise says in which testbed modes CI must see it fully verified; and
``VERIFIED_AGAINST`` says what each suite's tests talk to. A test against a fake (marked
``@pytest.mark.fake("kibana")``) never backs a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from suites import promises

Source = Literal["key features", "deployment summary", "external access", "data flow", "behaviour"]
#: The testbed's modes: online (upstream images pulled) and offline (air-gapped builds).
Mode = Literal["offline", "online"]
MODES: Final[tuple[Mode, ...]] = ("offline", "online")
Direction = Literal["at most", "at least"]


@dataclass(frozen=True)
class Figure:
    """A measured figure a promise shows: a label, a measurements.json key pattern, a unit, and
    optionally its threshold: a number measured by this run beyond it fails the promise."""

    label: str
    pattern: str
    unit: str = ""
    threshold: float | None = None
    direction: Direction = "at most"

    def violation(self, value: object) -> str | None:
        """`12.3 s > 10 s`, when a measured number breaks the threshold; None when it holds."""
        if self.threshold is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        unit = f" {self.unit}" if self.unit else ""
        if self.direction == "at most" and value > self.threshold:
            return f"{value:g}{unit} > {self.threshold:g}{unit}"
        if self.direction == "at least" and value < self.threshold:
            return f"{value:g}{unit} < {self.threshold:g}{unit}"
        return None

    @property
    def goal(self) -> str:
        """`≤ 10 s`, or "" without a threshold."""
        if self.threshold is None:
            return ""
        sign = "≤" if self.direction == "at most" else "≥"
        return f"{sign} {self.threshold:g} {self.unit}".strip()


@dataclass(frozen=True)
class Promise:
    """One promise, what the drawing says, and which tests and figures back it."""

    key: str
    source: Source
    title: str
    drawing: str
    tests: tuple[str, ...]
    figures: tuple[Figure, ...] = ()
    pending: tuple[str, ...] = ()
    #: The modes in which a CI run must show this promise passed (the gate's rule), and why
    #: a mode left out cannot verify it.
    verify_in: tuple[Mode, ...] = MODES
    why_not: str = ""

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every node-id prefix the promise claims, existing or pending."""
        return self.tests + self.pending


#: The SLOs (the drawing file's `slos`): a figure this run measured beyond its threshold fails
#: its promise.
SLO_READY: Final = promises.DRAWING.slo("ready").at_most  # s, a replacement pod Ready after a kill
SLO_LOG_LATENCY: Final = promises.DRAWING.slo("log-latency-p95").at_most  # s
SLO_SCALE_OUT: Final = promises.DRAWING.slo("scale-out").at_most  # s
SLO_LOAD_P95: Final = promises.DRAWING.slo("load-p95").at_most  # ms
SLO_LOAD_FAILURES: Final = promises.DRAWING.slo("load-failures").at_most
SLO_PARTITION_ANSWER: Final = promises.DRAWING.slo("partition-answer").at_most  # s
SLO_PARTITION_RECOVERY: Final = promises.DRAWING.slo("partition-recovery").at_most  # s
SLO_DNS_ANSWER: Final = promises.DRAWING.slo("dns-answer").at_most  # s
SLO_DNS_RECOVERY: Final = promises.DRAWING.slo("dns-recovery").at_most  # s

#: The release line (`vMAJOR.MINOR`) of the drawing's Kubernetes version.
KUBERNETES_MINOR: Final = promises.KUBERNETES_VERSION.rsplit(".", 1)[0]

#: Why a promise cannot pass in the air-gapped mode: Kibana and Logstash have no registry route
#: there (OpenSearch and rsyslog stand in for Elasticsearch and Logstash; nothing for Kibana).
NO_KIBANA_OFFLINE: Final = "offline: Kibana has no registry route, so its part is not verified"

S, SY, SM, C, R = (
    "suites/static/",
    "suites/system/",
    "suites/smoke/test_testbed_is_up.py",
    "suites/conformance/",
    "suites/resilience/",
)
#: kubepromises' generic static suite, run on this drawing (its tests are imported there).
D: Final = S + "test_drawing_counts.py"

PROMISES: Final = (
    # -- KEY FEATURES ---------------------------------------------------------------------------
    Promise(
        "high-availability",
        "key features",
        "High availability",
        "Multiple replicas per service (2 each), spread over nodes",
        (
            S + "test_replicas.py",
            D + "::test_every_workload_runs_the_drawings_replica_count",
            D + "::test_another_replica_count_is_caught",
            S + "test_availability.py",
            SM + "::test_the_four_services_run_two_ready_replicas_each",
            C + "test_replicas.py::test_each_deployment_runs_its_ready_replicas_on_different_nodes",
            "suites/resilience/test_node_loss.py",
        ),
        (
            Figure("a lost worker noticed (NotReady)", "node_loss.noticed_seconds", "s"),
            Figure("its replicas Ready on the other worker", "node_loss.replaced_seconds", "s"),
        ),
    ),
    Promise(
        "auto-healing",
        "key features",
        "Auto-healing",
        "Kubernetes restarts failed pods; clients see no failed request",
        (R + "test_self_healing.py",),
        (
            Figure(
                "time to Ready after a pod is deleted", "time_to_ready_seconds.*", "s", SLO_READY
            ),
            Figure("traffic while a pod was replaced", "self_healing_traffic.*"),
        ),
    ),
    Promise(
        "load-balancing",
        "key features",
        "Load balancing",
        "Traffic distributed across replicas",
        (
            C + "test_service_discovery.py"
            "::test_traffic_through_the_gateway_reaches_both_replicas_of_a_backend",
        ),
    ),
    Promise(
        "service-discovery",
        "key features",
        "Service discovery",
        "DNS-based service communication (ClusterIP Services)",
        (
            S + "test_service_wiring.py",
            C + "test_service_discovery.py::"
            "test_every_service_resolves_by_cluster_dns_from_inside_a_pod",
        ),
    ),
    Promise(
        "persistent-storage",
        "key features",
        "Persistent storage",
        "PVCs for database data: bound at the drawing's sizes, data survives a pod",
        (
            S + "test_storage.py",
            D + "::test_every_volume_is_claimed_at_the_drawings_size_and_mounted",
            D + "::test_a_volume_of_another_size_is_caught",
            SM + "::test_every_volume_claim_is_bound",
            C + "test_storage.py",
        ),
    ),
    Promise(
        "configuration",
        "key features",
        "Configuration",
        "ConfigMaps and Secrets; credentials only in Secrets; a changed value shows after rollout",
        (
            S + "test_config_and_secrets.py",
            C + "test_config_and_secrets.py",
            SY + "test_health_endpoints.py::"
            "test_each_service_reports_alive_ready_and_its_configured_version",
        ),
    ),
    Promise(
        "health-checks",
        "key features",
        "Health checks",
        "Liveness and readiness probes: an unready pod gets no traffic, a wedged one restarts",
        (S + "test_probes.py", SY + "test_health_endpoints.py", C + "test_health_checks.py"),
        (Figure("liveness restart of a wedged process", "liveness_restart_seconds", "s"),),
    ),
    Promise(
        "resource-limits",
        "key features",
        "Resource limits",
        "CPU and memory limits on every container; over its memory limit a pod is restarted",
        (S + "test_resources.py", C + "test_resource_limits.py"),
    ),
    Promise(
        "scalability",
        "key features",
        "Scalability",
        "Manual scaling (2 → 4 → 2 without a failed request) and autoscaling from 2 replicas",
        (
            S + "test_autoscaling.py",
            SY + "test_sigterm_while_starting.py",
            C + "test_scaling.py",
            C + "test_autoscaling.py",
        ),
        (
            Figure("traffic while scaling 2 → 4 → 2", "scaling_traffic.*"),
            Figure("autoscaler scale-out", "autoscaling.scale_out_seconds", "s", SLO_SCALE_OUT),
            Figure("autoscaler scale-in", "autoscaling.scale_in_seconds", "s"),
            Figure("autoscaler negative control", "autoscaling.negative_control"),
        ),
    ),
    Promise(
        "rolling-updates",
        "key features",
        "Rolling updates",
        "Zero-downtime deployments: a new version rolls out under 50 req/s, none fails",
        (
            S + "test_rolling_updates.py",
            S + "test_graceful_shutdown.py",
            SY + "test_draining.py",
            SY + "test_graceful_shutdown.py",
            R + "test_rolling_update.py",
        ),
        (
            Figure("traffic during the rollout", "rolling_update_traffic.*"),
            Figure("negative control (no preStop, no probes)", "negative_control_unsafe_rollout"),
        ),
    ),
    # -- DEPLOYMENT SUMMARY ---------------------------------------------------------------------
    Promise(
        "namespace",
        "deployment summary",
        "Namespace",
        "Everything in namespace demo-micro",
        (
            S + "test_inventory.py::test_everything_lives_in_the_demo_micro_namespace",
            D + "::test_everything_lives_in_the_drawings_namespace",
            D + "::test_an_object_outside_the_namespace_is_caught",
        ),
    ),
    Promise(
        "workloads",
        "deployment summary",
        "Workloads",
        "Deployments: 4 services; StatefulSets: 2x PostgreSQL, MongoDB, Redis, Elasticsearch",
        (
            S + "test_inventory.py::test_the_overlay_deploys_exactly_the_drawings_workloads",
            S + "test_inventory.py::test_a_missing_workload_is_caught",
            S + "test_inventory.py::test_a_workload_of_the_wrong_kind_is_caught",
            D + "::test_the_overlay_deploys_exactly_the_drawings_workloads",
            D + "::test_a_missing_workload_is_caught",
            SM + "::test_every_statefulset_is_ready",
            C + "test_replicas.py::test_every_statefulset_is_ready",
        ),
    ),
    Promise(
        "services-count",
        "deployment summary",
        "Services",
        "10+ Services (ClusterIP, NodePort), one per workload on the drawing's port",
        (
            S + "test_inventory.py::test_there_are_ten_or_more_services",
            S + "test_inventory.py::test_too_few_services_are_caught",
            D + "::test_there_are_at_least_the_drawings_number_of_services",
            D + "::test_too_few_services_are_caught",
            D + "::test_every_workload_has_a_service_of_its_name_on_the_drawings_port",
            D + "::test_a_workload_without_its_service_is_caught",
        ),
    ),
    Promise(
        "configmaps-and-secrets",
        "deployment summary",
        "ConfigMaps and Secrets",
        "ConfigMaps: 6; Secrets: 5, by the drawing's names",
        (
            S + "test_inventory.py::"
            "test_the_six_configmaps_and_five_secrets_exist_by_the_drawings_names",
            S + "test_inventory.py::test_a_missing_configmap_is_caught",
            S + "test_inventory.py::test_a_renamed_secret_is_caught",
            D + "::test_the_configmaps_and_secrets_are_the_drawings_by_name",
            D + "::test_a_missing_configmap_or_secret_is_caught",
        ),
    ),
    Promise(
        "pvcs",
        "deployment summary",
        "PVCs",
        "PVCs: 6 (order-db, inventory-db, mongodb 5Gi; redis 1Gi; localstack 2Gi; "
        "elasticsearch 10Gi)",
        (
            S + "test_inventory.py::test_the_full_drawing_has_six_pvcs",
            D + "::test_every_volume_is_claimed_at_the_drawings_size_and_mounted",
            C + "test_storage.py::test_every_volume_claim_is_bound_at_its_promised_size",
        ),
    ),
    Promise(
        "total-pods",
        "deployment summary",
        "Total pods",
        "~15-20 pods, depending on replicas",
        (
            S + "test_inventory.py::test_the_full_drawing_runs_fifteen_to_twenty_pods",
            S + "test_inventory.py::test_a_pod_count_beyond_the_drawing_is_caught",
            D + "::test_an_overlay_of_every_workload_runs_the_drawings_total_of_pods",
            D + "::test_a_pod_total_beyond_the_drawing_is_caught",
        ),
    ),
    # -- EXTERNAL ACCESS ------------------------------------------------------------------------
    Promise(
        "external-access",
        "external access",
        "External access",
        "API on NodePort 30080, Kibana on 30561, Ingress api.demo-micro.local (optional)",
        (
            S + "test_external_access.py",
            D + "::test_every_node_port_exposes_its_workload",
            D + "::test_a_moved_node_port_is_caught",
            D + "::test_the_ingress_routes_the_drawings_host_to_its_workload",
            D + "::test_an_ingress_for_another_host_is_caught",
            SM + "::test_the_gateway_answers_on_the_host_nodeport",
            C + "test_external_access.py",
        ),
        verify_in=("online",),
        why_not=NO_KIBANA_OFFLINE,
    ),
    # -- DATA FLOW ------------------------------------------------------------------------------
    Promise(
        "data-flow",
        "data flow",
        "Data flow",
        "Request → NodePort/Ingress → gateway → backend → database → PVC, and back",
        (
            SM + "::test_an_order_is_confirmed_decreases_stock_and_is_notified",
            SY + "test_request_ids_and_logs.py",
            S + "test_network_policies.py::test_every_connection_the_system_needs_is_allowed",
        ),
    ),
    Promise(
        "cache",
        "data flow",
        "Redis cache",
        "Redis for caching (catalogue) and rate limits; the gateway survives without it",
        (
            SY + "test_catalogue_cache.py",
            SY + "test_gateway_without_redis.py",
            R + "test_cache_loss.py",
        ),
        (Figure("traffic while Redis was lost", "cache_loss.*"),),
    ),
    Promise(
        "queue",
        "data flow",
        "AWS emulation (SQS)",
        "Order events through SQS: every confirmed order notified exactly once, also after outages",
        (SY + "test_notifications_exactly_once.py", R + "test_notification_path_outages.py"),
        (Figure("traffic while notification-db was lost", "notification_db_loss.*"),),
    ),
    Promise(
        "logs",
        "data flow",
        "ELK stack (optional)",
        "Every service logs JSON lines; they reach Elasticsearch and Kibana",
        (
            SY + "test_request_ids_and_logs.py"
            "::test_every_log_line_of_every_service_is_a_json_object_with_the_required_fields",
            S + "test_external_access.py::test_the_api_and_kibana_are_on_their_node_ports",
            S + "test_log_path.py",
            S + "test_online_log_path.py",
            "suites/testbed/test_kibana.py",
            "suites/observability/",
        ),
        (
            Figure("log latency p95", "logs.latency_seconds.p95", "s", SLO_LOG_LATENCY),
            Figure("log latency median", "logs.latency_seconds.p50", "s"),
            Figure("log latency max", "logs.latency_seconds.max", "s"),
            Figure("log latency samples", "logs.latency_seconds.samples"),
            Figure("log completeness", "logs.completeness.*"),
        ),
        # Offline too: OpenSearch and rsyslog keep Elasticsearch's and Logstash's interfaces,
        # and the Kibana client's tests run against a fake, which neither verifies nor blocks.
    ),
    # -- BEHAVIOURS THE SUITES CHECK ------------------------------------------------------------
    Promise(
        "database-loss",
        "behaviour",
        "Database loss",
        "Killing a PostgreSQL pod loses no acknowledged order; requests meanwhile get a prompt 503",
        (
            R + "test_database_loss.py",
            R + "test_database_connections_ended.py",
            SY + "test_dependency_down_is_503.py",
            SY + "test_database_waits_are_bounded.py",
            SY + "test_database_restart_fails_no_request.py",
            SY + "test_upstream_failures.py",
        ),
        (
            Figure("database killed under order traffic", "database_loss.*"),
            Figure(
                "every connection ended by the databases, under traffic",
                "database_connections_ended.*",
            ),
        ),
    ),
    Promise(
        "network-faults",
        "behaviour",
        "Network faults: partition, DNS",
        "order-service cut off from order-db, or without DNS, for 30 s: what needs them gets a "
        "prompt 503 with a JSON body, the rest is served, and it recovers without a restart",
        (
            R + "test_network_faults.py::"
            "test_order_service_cut_off_from_its_database_answers_503_promptly_and_recovers_alone",
            R + "test_network_faults.py::"
            "test_order_service_without_dns_keeps_its_connections_fails_new_ones_promptly_and_recovers",
            SY + "test_database_waits_are_bounded.py",
            SY + "test_a_stuck_relay_starves_no_request.py",
            "suites/testbed/test_faults.py",
        ),
        (
            Figure(
                "partition: slowest answer needing order-db",
                "network_faults.partition.slowest_answer_seconds",
                "s",
                SLO_PARTITION_ANSWER,
            ),
            Figure(
                "partition: orders again after healing",
                "network_faults.partition.recovery_seconds",
                "s",
                SLO_PARTITION_RECOVERY,
            ),
            Figure("partition", "network_faults.partition"),
            Figure(
                "DNS outage: slowest order answer",
                "network_faults.dns.slowest_answer_seconds",
                "s",
                SLO_DNS_ANSWER,
            ),
            Figure(
                "DNS outage: orders needing new connections again after DNS returned",
                "network_faults.dns.recovery_seconds",
                "s",
                SLO_DNS_RECOVERY,
            ),
            Figure("DNS outage", "network_faults.dns"),
        ),
    ),
    Promise(
        "network-latency",
        "behaviour",
        "Network latency",
        "+300 ms and +3 s on order-service's edges: every answer within the gateway's deadline",
        (
            R + "test_network_faults.py::"
            "test_latency_on_order_service_edges_keeps_every_answer_within_the_gateways_deadline",
        ),
        verify_in=(),
        why_not="this machine's kernel has no netem (CONFIG_NET_SCH_NETEM is not set) and no "
        "other latency injector is built: the test is skipped, so never passed",
    ),
    Promise(
        "clock-skew",
        "behaviour",
        "Clock skew",
        "One service pod 5 min ahead: no notification lost or duplicated, no order refused",
        (R + "test_clock_skew.py",),
        verify_in=(),
        why_not="containers share the kernel's CLOCK_REALTIME (time namespaces offset only the "
        "monotonic and boot clocks) and no per-process clock injector is built: skipped",
    ),
    Promise(
        "network-isolation",
        "behaviour",
        "Network isolation",
        "Default deny; each database reachable from its own service only",
        (S + "test_network_policies.py", "suites/conformance/test_network_policies.py"),
    ),
    Promise(
        "least-privilege",
        "behaviour",
        "Least privilege",
        "Non-root, no privilege escalation, no capabilities, read-only root filesystems",
        (S + "test_security.py",),
    ),
    Promise(
        "valid-manifests",
        "behaviour",
        "Valid, pinned manifests",
        f"Valid for Kubernetes {KUBERNETES_MINOR}; pinned images, the contract's images, never "
        "pulled needlessly",
        (S + "test_schema.py", S + "test_images.py", S + "test_rendering.py"),
    ),
    Promise(
        "orders-are-correct",
        "behaviour",
        "Orders are correct under load",
        "Stock never oversold, retries idempotent, bad input a 4xx, never a 500",
        (
            SY + "test_stock_never_oversold.py",
            SY + "test_idempotency.py",
            SY + "test_rejected_requests_change_nothing.py",
            SY + "test_bad_input_gets_4xx.py",
            SY + "test_gateway_fuzz.py",
            R + "test_invariant_checks_can_fail.py",
            "suites/load/",
        ),
        (
            Figure("mixed load on the testbed: p95", "load.mixed.p95_ms", "ms", SLO_LOAD_P95),
            Figure(
                "mixed load on the testbed: failed requests",
                "load.mixed.failures",
                "",
                SLO_LOAD_FAILURES,
            ),
            Figure("mixed load on the testbed", "load.mixed.*"),
            Figure("scenarios on the local stack", "load.local.*"),
        ),
    ),
    Promise(
        "orders-under-faults",
        "behaviour",
        "Orders stay correct under generated input and faults",
        "Every acknowledged order kept, stock conserved, no order pending past its bound, one "
        "notification each, no 5xx outside a fault: over a seeded campaign of generated orders "
        "while processes are killed",
        (
            "suites/campaign/",
            SY + "test_orders_never_stay_pending.py",
            SY + "test_a_backlog_drains.py",
            SY + "test_a_starting_service_takes_no_table_lock.py",
            SY + "test_a_publishing_relay_blocks_no_schema_change.py",
            SY + "test_relays_send_every_event_once_while_their_claims_hold.py",
            SY + "test_deadlines_are_nested.py",
            R + "test_no_order_stays_pending.py",
        ),
        (
            Figure("campaign anomalies", "campaign.local.anomalies", "", 0.0),
            Figure("campaign wall time", "campaign.local.wall_seconds", "s", 60.0),
            Figure("campaign operations", "campaign.local.operations"),
            Figure("campaign faults: killed", "campaign.local.faults.kill"),
            Figure("campaign faults: stopped", "campaign.local.faults.term"),
            Figure("campaign seed", "campaign.local.seed"),
            Figure("orders the reconciler rejected past their bound", "reconciler.*"),
        ),
    ),
)

_TESTBED = (
    "the kind testbed: upstream images online; offline, stand-ins FerretDB (MongoDB), moto "
    "(LocalStack's SQS), OpenSearch (Elasticsearch), rsyslog (Logstash), and no Kibana"
)
#: What each suite's tests talk to (the report's "verified against" column). A test module
#: that runs a fake of its own says so with ``@pytest.mark.fake("<component>")``.
VERIFIED_AGAINST: Final[dict[str, str]] = {
    "suites/static/": "the rendered manifests (nothing runs)",
    "suites/system/": (
        "local processes: real PostgreSQL and Redis; stand-ins FerretDB (MongoDB) and moto "
        "(LocalStack's SQS)"
    ),
    "suites/testbed/": "the testbed's own code",
    "suites/campaign/": (
        "local processes: real PostgreSQL and Redis; stand-ins FerretDB (MongoDB) and moto "
        "(LocalStack's SQS)"
    ),
    "suites/smoke/": _TESTBED,
    "suites/conformance/": _TESTBED,
    "suites/resilience/": _TESTBED,
    "suites/observability/": _TESTBED,
    "suites/load/": _TESTBED + "; or the local processes (-m 'not cluster')",
}

#: Folders whose every test module some promise must claim (the fast table check).
CLAIMED_FOLDERS: Final = (
    "suites/static",
    "suites/smoke",
    "suites/conformance",
    "suites/resilience",
    "suites/observability",
    "suites/load",
)


def promise(key: str) -> Promise:
    """A promise by key."""
    return next(p for p in PROMISES if p.key == key)
