"""Locust's distributed mode in the cluster: one master Job and a Job of N workers, in a namespace
of their own, aimed at the gateway's in-cluster Service.

The master waits for its N workers (`--expect-workers`), runs the scenario headless for the
run time, and writes its statistics into its own container; when locust has exited, its shell
prints them to the log (base64, between markers) and the run reads them back through the API.
The namespace, and with it every Job, Service and NetworkPolicy of the run, is deleted
afterwards, whatever happened.

What admits the load namespace to the gateway: the drawing draws the gateway open to anyone
(`open_to_anyone`), so demo-micro's NetworkPolicy `api-gateway` admits its port from every
namespace already, and nothing in demo-micro is changed. The narrow rules are the load
namespace's own (`network_policies`): default deny, DNS, the workers to the master's port, and
the master and the workers to the gateway's pods on the gateway's port, nothing else.
"""

from __future__ import annotations

import argparse
import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubepromises.waiting import NotYet, eventually
from suites.load.locust_run import OVERHEAD_SECONDS, REPORTS, Load, Result, _failures, _stats
from testbed.settings import DRAWING

if TYPE_CHECKING:
    from testbed.cluster import Testbed

#: The load's namespace: the run's alone, created for it and deleted after it.
LOAD_NAMESPACE = "demo-micro-load"
MASTER = "locust-master"
WORKERS = "locust-workers"
#: locust's master port (--master-bind-port's default), which the workers connect to.
MASTER_PORT = 5557
#: Every pod of the run carries this label; the NetworkPolicies select by it.
APP_LABEL = {"app.kubernetes.io/name": "locust"}
#: The most workers a run may ask for: four of them at their CPU limit fill this 2-core machine,
#: which also runs the cluster.
MAX_WORKERS = 4
#: Each pod's share of the 2-core machine: a worker may use half a core, the master (which only
#: aggregates) a quarter; a request of a tenth each lets four workers schedule beside the system.
WORKER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "384Mi"},
}
MASTER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "250m", "memory": "384Mi"},
}
#: How long the master waits for its workers to connect (their pods start, their image unpacks).
WORKERS_WAIT_SECONDS = 120
#: Where the master writes its statistics, in its container (an emptyDir: the root is read-only).
RESULTS_DIR = "/tmp/results"
#: The markers around each file the master prints to its log, and its exit line.
BEGIN, END, EXIT = "=== begin {} ===", "=== end {} ===", "=== locust exited "
STATS, FAILURES = "stats.json", "failures.csv"


def workers_option(text: str) -> int:
    """`--workers N`: a whole number from 1 to MAX_WORKERS, else a clear usage error."""
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers takes a whole number, not {text!r}") from None
    problem = workers_problem(workers)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return workers


def workers_problem(workers: int) -> str:
    """Why `workers` is not a worker count a run may ask for, or ''."""
    if not 1 <= workers <= MAX_WORKERS:
        return (
            f"--workers must be between 1 and {MAX_WORKERS} (this 2-core machine also runs the "
            f"cluster), not {workers}"
        )
    return ""


def gateway_in_cluster() -> str:
    """The gateway's Service as pods reach it: its name and port from the drawing."""
    gateway = DRAWING.workload("api-gateway")
    return f"http://{gateway.name}.{DRAWING.namespace}.svc:{gateway.port}"


@dataclass(frozen=True)
class Plan:
    """One distributed run: which scenario, how hard and long, how many workers, from which image,
    against which address."""

    scenario: str
    load: Load
    workers: int
    image: str
    target: str
    #: "Never" for an image imported into the testbed's own nodes; "Always" for one pushed to an
    #: attached target's registry (its tag names the project's version, not the build).
    pull_policy: str = "Never"

    def __post_init__(self) -> None:
        problem = workers_problem(self.workers)
        if problem:
            raise ValueError(problem)

    @property
    def deadline_seconds(self) -> int:
        """How long a Job may run at most (activeDeadlineSeconds): the wait for the workers,
        the run time, and what locust needs past it."""
        return WORKERS_WAIT_SECONDS + self.load.seconds + OVERHEAD_SECONDS


def master_argv(plan: Plan) -> list[str]:
    """The master's locust: headless, waiting for exactly the plan's workers."""
    prefix = f"{RESULTS_DIR}/{plan.scenario}"
    return [
        "locust", "-f", f"scenarios/{plan.scenario}.py",
        "--master", "--headless",
        "--expect-workers", str(plan.workers),
        "--expect-workers-max-wait", str(WORKERS_WAIT_SECONDS),
        "--master-bind-port", str(MASTER_PORT),
        "--host", plan.target,
        "--users", str(plan.load.users), "--spawn-rate", str(plan.load.spawn_rate),
        "--run-time", f"{plan.load.seconds}s", "--stop-timeout", "10",
        "--csv", prefix, "--json-file", prefix,
        "--only-summary", "--loglevel", "INFO",
    ]  # fmt: skip


def worker_argv(plan: Plan) -> list[str]:
    """A worker's locust: the scenario, and where its master listens (the master's Service)."""
    return [
        "locust", "-f", f"scenarios/{plan.scenario}.py",
        "--worker", "--master-host", MASTER, "--master-port", str(MASTER_PORT),
        "--loglevel", "INFO",
    ]  # fmt: skip


def master_script(plan: Plan) -> str:
    """The master container's shell: locust, then its statistics and failures printed to the
    log (base64 in lines of 4000 characters: the log keeps them whole) and its exit code. The
    script itself ends 0 when it got that far, so a failed Job means the run did not finish."""
    prefix = f"{RESULTS_DIR}/{plan.scenario}"
    files = {STATS: f"{prefix}.json", FAILURES: f"{prefix}_failures.csv"}
    printed = [
        f"echo {shlex.quote(BEGIN.format(name))}; "
        f"base64 -w0 {path} | fold -w 4000; echo; "
        f"echo {shlex.quote(END.format(name))}"
        for name, path in files.items()
    ]
    return "; ".join(
        [
            f"{shlex.join(master_argv(plan))}",
            "code=$?",
            *printed,
            f'echo "{EXIT}$code"',
            "exit 0",
        ]
    )


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": LOAD_NAMESPACE, "labels": dict(APP_LABEL)}


def _pod_template(plan: Plan, component: str, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {**APP_LABEL, "app.kubernetes.io/component": component}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "locust",
                    "image": plan.image,
                    "imagePullPolicy": plan.pull_policy,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [{"name": "results", "mountPath": RESULTS_DIR}],
                    **container,
                }
            ],
            "volumes": [{"name": "results", "emptyDir": {}}],
        },
    }


def _job(plan: Plan, name: str, template: dict[str, Any], count: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(name),
        "spec": {
            "parallelism": count,
            "completions": count,
            "backoffLimit": 0,
            "activeDeadlineSeconds": plan.deadline_seconds,
            "template": template,
        },
    }


def master_job(plan: Plan) -> dict[str, Any]:
    container = {
        "command": ["sh", "-c", master_script(plan)],
        "ports": [{"name": "master", "containerPort": MASTER_PORT}],
        "resources": MASTER_RESOURCES,
    }
    return _job(plan, MASTER, _pod_template(plan, "master", container), 1)


def workers_job(plan: Plan) -> dict[str, Any]:
    container = {"command": worker_argv(plan), "resources": WORKER_RESOURCES}
    return _job(plan, WORKERS, _pod_template(plan, "worker", container), plan.workers)


def master_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(MASTER),
        "spec": {
            "selector": {**APP_LABEL, "app.kubernetes.io/component": "master"},
            "ports": [{"name": "master", "port": MASTER_PORT, "targetPort": MASTER_PORT}],
        },
    }


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(name),
        "spec": spec,
    }


def network_policies() -> list[dict[str, Any]]:
    """The load namespace's rules: nothing in or out but DNS, the workers to the master's port,
    and every locust pod to the gateway's pods on the gateway's port."""
    gateway = DRAWING.workload("api-gateway")
    component = "app.kubernetes.io/component"
    master = {"matchLabels": {**APP_LABEL, component: "master"}}
    worker = {"matchLabels": {**APP_LABEL, component: "worker"}}
    master_port = [{"protocol": "TCP", "port": MASTER_PORT}]
    return [
        _policy("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "allow-dns-egress",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    }
                ],
            },
        ),
        _policy(
            "workers-to-master",
            {
                "podSelector": master,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": worker}], "ports": master_port}],
            },
        ),
        _policy(
            "worker-egress-to-master",
            {
                "podSelector": worker,
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": master}], "ports": master_port}],
            },
        ),
        _policy(
            "locust-to-gateway",
            {
                "podSelector": {"matchLabels": dict(APP_LABEL)},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": DRAWING.namespace
                                    }
                                },
                                "podSelector": {
                                    "matchLabels": {"app.kubernetes.io/name": gateway.name}
                                },
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": gateway.port}],
                    }
                ],
            },
        ),
    ]


def namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": LOAD_NAMESPACE, "labels": dict(APP_LABEL)},
    }


def render(plan: Plan) -> list[dict[str, Any]]:
    """Every object of the run, in the order they are applied: the namespace, its rules, the
    master's Service (so that the workers' address resolves), the master, the workers."""
    return [
        namespace(),
        *network_policies(),
        master_service(),
        master_job(plan),
        workers_job(plan),
    ]


@dataclass(frozen=True)
class MasterOutput:
    """What the master printed after locust exited."""

    exit_code: int
    files: dict[str, bytes]


def read_master_log(log: str) -> MasterOutput:
    """The files and the exit code the master's shell printed; a ValueError saying what is
    missing when the log lacks them (locust did not get as far)."""
    lines = log.splitlines()
    exits = [line for line in lines if line.startswith(EXIT)]
    if not exits:
        raise ValueError(f"the master's log has no {EXIT.strip()!r} line: locust did not finish")
    files = {}
    for name in (STATS, FAILURES):
        begin, end = BEGIN.format(name), END.format(name)
        if begin not in lines or end not in lines:
            raise ValueError(f"the master's log lacks {begin!r} ... {end!r}")
        encoded = "".join(lines[lines.index(begin) + 1 : lines.index(end)]).strip()
        files[name] = base64.b64decode(encoded, validate=True)
    return MasterOutput(exit_code=int(exits[-1].removeprefix(EXIT)), files=files)


def result_of(plan: Plan, log: str, reports: Path, tag: str) -> Result:
    """The run's Result, as a local run's: the master's files written where a local run writes
    them (reports/load/<scenario><tag>.json, _failures.csv, .log) and read by the same code."""
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / f"{plan.scenario}{tag}"
    log_file = prefix.with_name(f"{prefix.name}.log")
    log_file.write_text(log)
    output = read_master_log(log)
    stats = prefix.with_name(f"{prefix.name}.json")
    failures = prefix.with_name(f"{prefix.name}_failures.csv")
    for path, content in ((stats, output.files[STATS]), (failures, output.files[FAILURES])):
        path.unlink(missing_ok=True)  # an earlier run's file must not stand in for a missing one
        if content:
            path.write_bytes(content)
    return Result(
        scenario=plan.scenario,
        load=plan.load,
        exit_code=output.exit_code,
        output=log[-6000:],
        rows=_stats(stats),
        failures=_failures(failures),
        html=log_file,  # the master writes no HTML report: its log is the run's record
    )


# -- the cluster ----------------------------------------------------------------------------------
def load_image_into_nodes(testbed: Testbed) -> str:
    """Build the load image (or find it built) and import it into each node that runs pods and
    lacks this build; its name. Its archive is kept apart from the testbed's own."""
    from testbed import images
    from testbed.archives import import_archive, save_archives

    image = images.build_load_image(testbed.settings, offline=testbed.offline)
    ids = testbed.image_ids([image])
    archives = save_archives([[image]], ids, testbed.settings.cache / "load-image-archives")
    for node in testbed.pod_nodes():
        if testbed.node_image_id(node, image) != ids[image]:
            import_archive(node, archives[0])
    return image


def delete_namespace(testbed: Testbed) -> None:
    """The load namespace and everything in it gone (waited for)."""
    testbed.kubectl(
        "delete", "namespace", LOAD_NAMESPACE, "--ignore-not-found", "--wait=true",
        timeout=180,
    )  # fmt: skip


def master_finished(testbed: Testbed) -> str:
    """'Complete' or 'Failed' once the master's Job is either; NotYet before."""
    conditions = testbed.kubectl(
        "get", "job", MASTER, "-n", LOAD_NAMESPACE,
        "-o", "jsonpath={range .status.conditions[?(@.status=='True')]}{.type} {end}",
    ).split()  # fmt: skip
    finished = [c for c in conditions if c in ("Complete", "Failed")]
    if not finished:
        raise NotYet(f"the master's Job's conditions: {conditions or 'none yet'}")
    return finished[0]


def run_distributed(
    testbed: Testbed, plan: Plan, *, reports: Path = REPORTS, tag: str = ""
) -> Result:
    """Run the plan in the cluster and read its result back; the namespace deleted afterwards,
    always (and before, should an interrupted run have left it)."""
    objects = render(plan)
    delete_namespace(testbed)
    try:
        manifest = "\n".join(json.dumps(o) for o in objects)
        testbed.kubectl("apply", "-f", "-", stdin=manifest.encode())
        outcome = eventually(
            lambda: master_finished(testbed),
            timeout=plan.deadline_seconds + 30,
            interval=2.0,
            what=f"the locust master's Job in {LOAD_NAMESPACE} to finish",
            hint="its pods: kubectl -n demo-micro-load get pods; describe them",
        )
        log = testbed.kubectl("logs", f"job/{MASTER}", "-n", LOAD_NAMESPACE, timeout=60)
        if outcome != "Complete":
            pods = testbed.kubectl("get", "pods", "-n", LOAD_NAMESPACE, "-o", "wide")
            raise AssertionError(
                f"the locust master's Job {outcome}: its pods\n{pods}\nits log:\n{log[-4000:]}"
            )
        return result_of(plan, log, reports, tag)
    finally:
        delete_namespace(testbed)


def delivered_image(testbed: Testbed) -> tuple[str, str]:
    """The load image as the cluster's nodes get it, and the pull policy that goes with it:
    imported into the testbed's own kind nodes (never pulled), or pushed to an attached target's
    registry, from which the nodes pull it (always: its tag does not change with the build)."""
    from testbed import images, registry
    from testbed.attach import Target

    if not isinstance(testbed, Target):
        return load_image_into_nodes(testbed), "Never"
    local = images.build_load_image(testbed.settings, offline=testbed.offline)
    pushed = registry.push([local], testbed.registry.address)
    return pushed[local], "Always"


def runner(testbed: Testbed, workers: int) -> DistributedRunner:
    """The distributed run as a scenario runner (suites/load/verified_run.py's)."""
    return DistributedRunner(testbed, workers)


@dataclass(frozen=True)
class DistributedRunner:
    """`run_scenario`'s signature, run by `workers` workers in the cluster. The host is ignored:
    the pods reach the gateway at its in-cluster Service (gateway_in_cluster)."""

    testbed: Testbed
    workers: int

    def __post_init__(self) -> None:
        problem = workers_problem(self.workers)
        if problem:
            raise ValueError(problem)

    def __call__(self, scenario: str, host: str, load: Load, *, tag: str = "") -> Result:
        image, pull_policy = delivered_image(self.testbed)
        plan = Plan(scenario, load, self.workers, image, gateway_in_cluster(), pull_policy)
        return run_distributed(self.testbed, plan, tag=tag or f"-workers-{self.workers}")
