"""What the live suites share: pod selectors, bounded waits on workloads, recorded figures."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kubepromises.waiting import NotYet, eventually
from suites import promises
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready

#: Figures the live suites measure (time-to-ready, failures during rollouts), for the docs.
MEASUREMENTS = promises.REPO_ROOT / "reports" / "measurements.json"

#: A Deployment of ours: new pod scheduled, started, Ready (startup + readiness probes).
ROLLOUT_TIMEOUT = 90.0

#: Above the manifests' terminationGracePeriodSeconds (30 s).
TERMINATION_TIMEOUT = 45.0


def psql(dbname: str) -> list[str]:
    """psql in a PostgreSQL pod, reading its statements from stdin: bare rows, the first
    error fatal."""
    return ["sh", "-c", f'psql -qtA -U "$POSTGRES_USER" -d {dbname} -v ON_ERROR_STOP=1']


def selector(workload: str) -> str:
    """The label selector of a workload's pods."""
    return f"{promises.APP_LABEL}={workload}"


def wait_rolled_out(kube: Kube, name: str, kind: str = "Deployment") -> None:
    """Until observedGeneration caught up and updated == ready == replicas."""

    def rolled_out() -> None:
        state = kube.workload(kind, name)
        if not state.rolled_out:
            raise NotYet(state)

    eventually(
        rolled_out,
        timeout=ROLLOUT_TIMEOUT,
        interval=0.5,
        what=f"{kind}/{name} rolled out",
        hint=f"kubectl -n {promises.NAMESPACE} describe {kind.lower()} {name}",
    )
    wait_settled(kube, name, kind)


def wait_settled(kube: Kube, name: str, kind: str = "Deployment") -> None:
    """Until no pod of the workload is terminating: one test's leftovers are not the next's fault.

    A rollout is complete before its old pods have exited (preStop, graceful shutdown); their
    exit would otherwise fall into the next test's traffic.
    """

    def settled() -> None:
        pods = kube.pods(selector(name))
        leaving = [p.metadata.name for p in pods if p.metadata.deletion_timestamp is not None]
        desired = kube.workload(kind, name).desired
        if leaving or len(pods) != desired:
            raise NotYet(f"{len(pods)} pods for {desired} desired, terminating: {leaving}")

    eventually(
        settled,
        timeout=TERMINATION_TIMEOUT * 2,
        interval=0.5,
        what=f"{kind}/{name} without terminating pods",
        hint="terminationGracePeriodSeconds bounds each pod's exit",
    )


def wait_pod_gone(kube: Kube, name: str) -> None:
    """Until the pod no longer exists (preStop, SIGTERM and shutdown all done)."""

    def gone() -> None:
        left = [p.metadata.name for p in kube.pods() if p.metadata.name == name]
        if left:
            raise NotYet(f"{name} still exists")

    eventually(
        gone,
        timeout=TERMINATION_TIMEOUT,
        interval=0.5,
        what=f"pod {name} gone",
        hint="terminationGracePeriodSeconds bounds this; see the pod's events",
    )


def wait_pods_gone(kube: Kube, names: set[str]) -> None:
    """Until none of these pods exists any more."""

    def gone() -> None:
        left = sorted(p.metadata.name for p in kube.pods() if p.metadata.name in names)
        if left:
            raise NotYet(f"still there: {left}")

    eventually(
        gone,
        timeout=TERMINATION_TIMEOUT * 2,
        interval=0.5,
        what=f"pods {sorted(names)} gone",
        hint="terminationGracePeriodSeconds bounds each; see the pods' events",
    )


def record(key: str, value: object, path: Path = MEASUREMENTS) -> None:
    """Merge one figure into reports/measurements.json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[key] = value
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


FETCH_JSON = (
    "import json, sys, urllib.request\n"
    "print(json.dumps({u: json.load(urllib.request.urlopen(u, timeout=5)) for u in sys.argv[1:]}))"
)


#: Where the gateway's rate limit is deployed (`RATE_LIMIT_PER_MINUTE`, per client; 0: off).
GATEWAY_CONFIG = "api-gateway-config"


def deployed_rate_limit(kube: Kube) -> int:
    """The gateway's requests a minute per client as deployed (0: no limit)."""
    data = kube.core.read_namespaced_config_map(GATEWAY_CONFIG, kube.namespace).data or {}
    return int(data["RATE_LIMIT_PER_MINUTE"])


def fetch_in_cluster(testbed: Testbed, kube: Kube, *urls: str) -> dict[str, object]:
    """GET each URL from inside a gateway pod (cluster DNS, Service path); URL → JSON answer."""
    pod = kube.ready_pods(selector("api-gateway"))[0].metadata.name
    out = testbed.kubectl(
        "exec", "-n", kube.namespace, pod, "--", "python", "-c", FETCH_JSON, *urls, timeout=60
    )
    answers: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return answers


def restart_rollout(kube: Kube, name: str, marker: str) -> None:
    """What `kubectl rollout restart` does: a new template annotation, so new pods."""
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: marker}}}}}
    kube.patch_deployment(name, patch)


RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


@contextmanager
def deployment_restored(kube: Kube, name: str) -> Iterator[str]:
    """The Deployment's template and replicas put back (and rolled out) after the block."""
    with deployments_restored(kube, [name]):
        yield name


@contextmanager
def deployments_restored(kube: Kube, names: Sequence[str]) -> Iterator[None]:
    """The Deployments' templates and replicas put back after the block, all at once, then
    waited for together: one after the other, each restore cost a whole rollout (~22 s)."""
    saved = {}
    for name in names:
        wait_rolled_out(kube, name)
        saved[name] = (kube.deployment_template(name), kube.deployment(name).spec.replicas)
    try:
        yield
    finally:
        for name, (template, replicas) in saved.items():
            kube.restore_deployment(name, template, replicas)
        for name in saved:
            wait_rolled_out(kube, name)


#: The most pods deleted per service to spread it again: the spread constraint is a preference
#: (ScheduleAnyway), so one replacement is not certain to land on the other node.
RESPREAD_TRIES = 3


def respread(kube: Kube) -> list[str]:
    """Spread again each service whose pods all sit on one node while there are several workers
    (Kubernetes never moves running pods back after a node returns): one of its pods is deleted,
    the ordinary way, and its replacement is scheduled apart by the spread constraint, which
    counts no terminating pod. The services moved, by name.

    One pod, not a rollout: a rollout replaces both pods one after the other (~21 s; a deletion
    ~12 s, the old pod's drain, 7 Dec 2026)."""
    workers = [n for n in kube.nodes_ready() if "control-plane" not in n]

    def crowded() -> list[str]:
        return [
            service.name
            for service in promises.SERVICES
            if len(workers) > 1
            and service.replicas > 1
            and len({p.spec.node_name for p in kube.pods(selector(service.name))}) == 1
        ]

    moved: list[str] = []
    for _ in range(RESPREAD_TRIES):
        names = crowded()
        if not names:
            return moved
        for name in names:
            kube.delete_pod(min(str(p.metadata.name) for p in kube.pods(selector(name))))
        # All at once, then one wait each.
        for name in names:
            wait_rolled_out(kube, name)
        moved += [name for name in names if name not in moved]
    still = crowded()
    assert not still, f"{still}: every pod still on one node after {RESPREAD_TRIES} deletions"
    return moved


def make_unsafe(kube: Kube, name: str) -> None:
    """Negative controls: take from the Deployment what lets a pod leave without failing
    requests (the preStop sleep, the readiness and startup probes), then roll that out."""
    container = kube.deployment(name).spec.template.spec.containers[0]
    removals = [
        {"op": "remove", "path": f"/spec/template/spec/containers/0/{field}"}
        for field, value in (
            ("lifecycle", container.lifecycle),
            ("readinessProbe", container.readiness_probe),
            ("startupProbe", container.startup_probe),
        )
        if value is not None
    ]
    assert removals, f"{name} has no preStop or probes to remove"
    kube.patch_deployment(name, removals)
    wait_rolled_out(kube, name)


def wait_replaced(kube: Kube, workload: str, old_uid: str, timeout: float) -> None:
    """Until a pod of the workload other than `old_uid` is Ready (a killed pod's successor)."""

    def replaced_and_ready() -> None:
        pods = kube.pods(selector(workload))
        if not any(p.metadata.uid != old_uid and is_ready(p) for p in pods):
            raise NotYet({p.metadata.uid: p.status.phase for p in pods})

    eventually(
        replaced_and_ready,
        timeout=timeout,
        interval=0.5,
        what=f"a new {workload} pod Ready",
        hint="look at the workload's events (and its PVC, for a StatefulSet)",
    )
