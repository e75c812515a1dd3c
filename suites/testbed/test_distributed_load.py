"""The distributed load's Jobs (suites/load/distributed.py), rendered without a cluster: the
master's and the workers' locust arguments, their resources on this 2-core machine, the load
namespace and its rules, the result read back from the master's log, and the namespace deleted
whatever happens; a bad worker count is a clear error that changes nothing."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from suites import promises
from suites.load import curves, distributed
from suites.load.distributed import (
    LOAD_NAMESPACE,
    MASTER,
    MASTER_PORT,
    MAX_WORKERS,
    DistributedRunner,
    Plan,
    read_master_log,
    render,
    result_of,
    run_distributed,
    workers_option,
)
from suites.load.locust_run import Load

SVG = "{http://www.w3.org/2000/svg}"

LOAD = Load(users=20, spawn_rate=5.0, seconds=30)
GATEWAY = next(s for s in promises.DRAWING.services if s.name == "api-gateway")


def plan(workers: int = 2) -> Plan:
    return Plan("mixed", LOAD, workers, "demo-micro/load:0.1.0", distributed.gateway_in_cluster())


def objects(workers: int = 2) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render(plan(workers))}


def container(job: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def option(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def millicores(quantity: str) -> int:
    return int(quantity.removesuffix("m")) if quantity.endswith("m") else int(quantity) * 1000


def test_the_master_runs_headless_waiting_for_its_workers_against_the_gateways_service() -> None:
    argv = distributed.master_argv(plan(workers=3))

    assert {"--master", "--headless"} <= set(argv)
    assert option(argv, "--expect-workers") == "3"
    assert option(argv, "--users") == str(LOAD.users)
    assert option(argv, "--spawn-rate") == str(LOAD.spawn_rate)
    assert option(argv, "--run-time") == f"{LOAD.seconds}s"
    assert option(argv, "--master-bind-port") == str(MASTER_PORT)
    # The gateway's Service in its namespace, on its port: the drawing's values.
    host = f"http://{GATEWAY.name}.{promises.DRAWING.namespace}.svc:{GATEWAY.port}"
    assert option(argv, "--host") == host
    assert option(argv, "-f") == "scenarios/mixed.py"
    # The master's container runs exactly these arguments, then prints what it wrote.
    script = container(objects(3)["Job", MASTER])["command"]
    assert script[:2] == ["sh", "-c"]
    assert script[2].startswith(" ".join(argv))


def test_the_workers_are_one_job_of_n_pods_connecting_to_the_masters_service() -> None:
    rendered = objects(workers=3)
    workers = rendered["Job", distributed.WORKERS]
    service = rendered["Service", MASTER]
    master = container(rendered["Job", MASTER])

    assert workers["spec"]["parallelism"] == workers["spec"]["completions"] == 3
    argv = container(workers)["command"]
    assert "--worker" in argv
    assert option(argv, "--master-host") == service["metadata"]["name"]
    assert option(argv, "--master-port") == str(MASTER_PORT)
    assert service["spec"]["ports"][0]["port"] == MASTER_PORT
    assert master["ports"][0]["containerPort"] == MASTER_PORT
    # The Service selects the master's pods, not the workers'.
    master_labels = rendered["Job", MASTER]["spec"]["template"]["metadata"]["labels"]
    worker_labels = workers["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"].items()
    assert selector <= master_labels.items()
    assert not selector <= worker_labels.items()


def test_every_pod_has_cpu_and_memory_limits_that_the_2_core_machine_holds() -> None:
    rendered = objects(workers=MAX_WORKERS)
    jobs = [o for o in rendered.values() if o["kind"] == "Job"]

    limits = 0
    for job in jobs:
        resources = container(job)["resources"]
        assert set(resources) == {"requests", "limits"}
        for part in ("requests", "limits"):
            assert set(resources[part]) == {"cpu", "memory"}, job["metadata"]["name"]
        assert container(job)["imagePullPolicy"] == "Never"  # loaded, never pulled
        assert job["spec"]["activeDeadlineSeconds"] == plan().deadline_seconds
        limits += millicores(resources["limits"]["cpu"]) * job["spec"]["parallelism"]
    # The most workers at their limits, and the master, fit in the machine's two cores.
    assert limits <= 2500, f"{limits}m of CPU limits"


def test_everything_lives_in_the_load_namespace_and_nothing_in_the_systems() -> None:
    rendered = render(plan())

    assert rendered[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": LOAD_NAMESPACE, "labels": distributed.APP_LABEL},
    }
    assert {o["metadata"].get("namespace") for o in rendered[1:]} == {LOAD_NAMESPACE}
    assert promises.DRAWING.namespace != LOAD_NAMESPACE


def test_the_load_namespace_denies_all_but_dns_the_masters_port_and_the_gateway() -> None:
    policies = [o for o in render(plan()) if o["kind"] == "NetworkPolicy"]
    by_name = {p["metadata"]["name"]: p["spec"] for p in policies}

    assert by_name["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ports = sorted(
        (port["protocol"], port["port"])
        for spec in by_name.values()
        for rule in spec.get("egress", []) + spec.get("ingress", [])
        for port in rule["ports"]
    )
    # DNS, the master's port (in from the workers, out from them) and the gateway's port only.
    assert ports == sorted(
        [
            ("UDP", 53),
            ("TCP", 53),
            ("TCP", MASTER_PORT),
            ("TCP", MASTER_PORT),
            ("TCP", GATEWAY.port),
        ]
    )
    (to_gateway,) = by_name["locust-to-gateway"]["egress"][0]["to"]
    assert to_gateway["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": GATEWAY.name}
    namespace = to_gateway["namespaceSelector"]["matchLabels"]
    assert namespace == {"kubernetes.io/metadata.name": promises.DRAWING.namespace}


def test_the_gateway_admits_other_namespaces_because_the_drawing_opens_it_to_anyone() -> None:
    # What lets the load namespace in: demo-micro's policy for the gateway admits its port from
    # anywhere, as the drawing says. Nothing in demo-micro is changed for the load.
    assert GATEWAY.open_to_anyone


@pytest.mark.parametrize("bad", ["0", "-1", str(MAX_WORKERS + 1), "two", "1.5", ""])
def test_a_bad_worker_count_is_a_clear_usage_error(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--workers"):
        workers_option(bad)


@pytest.mark.parametrize("good", ["1", str(MAX_WORKERS)])
def test_a_worker_count_in_range_is_taken(good: str) -> None:
    assert workers_option(good) == int(good)


class FakeTestbed:
    """Records every kubectl call; `fail_on` makes the call starting with it fail."""

    def __init__(self, fail_on: str = "", log: str = "") -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail_on = fail_on
        self.log = log

    def kubectl(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        self.calls.append(args)
        if self.fail_on and args[0] == self.fail_on:
            raise RuntimeError(f"kubectl {self.fail_on} failed")
        if args[:2] == ("get", "job"):
            return "Complete "
        if args[0] == "logs":
            return self.log
        return ""


def test_a_worker_count_of_0_changes_nothing() -> None:
    # negative control: the count is refused before any image is built or object applied
    fake = FakeTestbed()
    with pytest.raises(ValueError, match="between 1 and"):
        DistributedRunner(fake, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between 1 and"):
        plan(workers=0)
    assert fake.calls == []


def test_the_namespace_is_deleted_before_and_after_even_when_applying_fails(
    tmp_path: Path,
) -> None:
    fake = FakeTestbed(fail_on="apply")
    with pytest.raises(RuntimeError, match="apply failed"):
        run_distributed(fake, plan(), reports=tmp_path)  # type: ignore[arg-type]

    delete = ("delete", "namespace", LOAD_NAMESPACE, "--ignore-not-found", "--wait=true")
    assert [c[0] for c in fake.calls] == ["delete", "apply", "delete"]
    assert fake.calls[0] == fake.calls[-1] == delete


def run_master_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_locust: str) -> str:
    """The master's shell as the Job runs it, with a fake `locust` first on PATH."""
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(distributed, "RESULTS_DIR", str(results))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "locust").write_text(f"#!/bin/sh\n{fake_locust}\n")
    (bin_dir / "locust").chmod(0o755)
    script = distributed.master_script(plan())
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def stats_entry() -> dict[str, Any]:
    return {
        "method": "GET",
        "name": "/api/inventory/products",
        "num_requests": 4,
        "num_failures": 0,
        "start_time": 1000.0,
        "last_request_timestamp": 1002.0,
        "response_times": {"10": 3, "300": 1},
    }


def test_the_masters_files_and_exit_code_come_back_whole_through_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arrange: a "locust" that writes statistics (more than one log line's worth) and exits 1
    stats = json.dumps([stats_entry()] * 300)
    fake = (
        f"cat > {tmp_path}/results/mixed.json <<'END'\n{stats}\nEND\n"
        f"printf 'Method,Name,Error,Occurrences\\nGET,/x,boom,2\\n' "
        f"> {tmp_path}/results/mixed_failures.csv\nexit 1"
    )

    # act
    log = run_master_script(tmp_path, monkeypatch, fake)
    output = read_master_log(log)
    result = result_of(plan(), log, tmp_path / "reports", "")

    # assert
    assert output.exit_code == 1
    assert json.loads(output.files[distributed.STATS]) == json.loads(stats)
    assert result.exit_code == 1
    assert result.total.requests == 1200
    assert result.total.p95_ms == 300.0
    assert result.failures == ["2 x GET /x: boom"]


def test_a_master_that_wrote_nothing_gives_no_statistics_not_an_earlier_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "mixed.json").write_text(json.dumps([stats_entry()]))  # an earlier run's

    log = run_master_script(tmp_path, monkeypatch, "exit 2")
    result = result_of(plan(), log, reports, "")

    assert result.exit_code == 2
    assert result.rows == []
    assert result.failures == []


def test_a_log_cut_short_is_a_clear_error() -> None:
    # negative control: the master died before printing its exit line
    with pytest.raises(ValueError, match="locust did not finish"):
        read_master_log("[2026-12-06] Waiting for workers to be ready, 0 of 2 connected\n")


def point(users: int, rps: float, p95_ms: float, failures: int) -> curves.Point:
    return curves.Point(
        workers=2, replicas_before=2, replicas_after=2, users=users, seconds=20,
        requests=int(rps * 20), rps=rps, p95_ms=p95_ms, failures=failures,
        orders_confirmed=0, load_average="", at="",
    )  # fmt: skip


def test_the_knee_is_the_highest_rate_within_the_drawings_p95_and_failures() -> None:
    p95 = promises.DRAWING.slo("load-p95").at_most
    within = point(100, 90.0, p95, 0)
    slow = point(300, 200.0, p95 + 1, 0)  # faster, but over the p95 goal
    failing = point(200, 150.0, p95 / 2, 3)  # within p95, but failures

    assert curves.knee([within, slow, failing]) == within
    # negative control: no point keeps both goals, so there is no knee
    assert curves.knee([slow, failing]) is None


@pytest.mark.parametrize("bad", ["0", "-3", "x", ""])
def test_a_curve_refuses_a_count_below_1(bad: str) -> None:
    with pytest.raises(SystemExit):
        curves.parser().parse_args(["saturation", "--users", bad])


def test_the_saturation_chart_draws_each_replica_count_with_its_knee_and_the_slo(
    tmp_path: Path,
) -> None:
    # arrange: a curve's figures as saturation_curve writes them, one run past the p95 goal
    p95 = promises.DRAWING.slo("load-p95").at_most
    within, slow = point(150, 116.3, p95 / 2, 0), point(250, 189.8, p95 + 10, 0)
    figures = {
        "2": {"points": [asdict(within), asdict(slow)], "knee": asdict(within)},
        "4": {"points": [asdict(slow)], "knee": None},
    }
    saved = tmp_path / "saturation.json"
    saved.write_text(json.dumps(figures))

    # act
    svg = ET.fromstring(curves.plotted(saved).read_text())

    # assert: a line per replica count, one knee ringed, the SLO's line, beside the JSON
    lines = svg.findall(f"{SVG}polyline")
    assert [line.attrib["data-name"] for line in lines] == [
        "2 gateway replicas",
        "4 gateway replicas",
    ]
    assert len(svg.findall(f"{SVG}circle[@class='marked']")) == 1
    assert f"load-p95 SLO {p95:g} ms" in "".join(svg.itertext())
    assert (tmp_path / "saturation.svg").exists()


def test_the_workers_chart_crosses_a_run_whose_failures_broke_the_slo(tmp_path: Path) -> None:
    failures = promises.DRAWING.slo("load-failures").at_most
    runs = [
        {**asdict(point(120, 93.2, 120, 0)), "workers": 1},
        {**asdict(point(120, 94.0, 85, int(failures) + 1)), "workers": 4},
    ]
    saved = tmp_path / "workers.json"
    saved.write_text(json.dumps({"points": runs, "rps_ratio_to_first": {"1": 1.0, "4": 1.01}}))

    svg = ET.fromstring(curves.plotted(saved).read_text())

    assert len(svg.findall(f"{SVG}path[@class='flagged']")) == 1
    assert "120 users" in "".join(svg.itertext())


@pytest.mark.parametrize("text", ["not json", '{"2": {"points": []}}', "[]"])
def test_negative_control_a_file_that_is_not_a_curves_figures_is_refused_and_nothing_written(
    tmp_path: Path, text: str
) -> None:
    saved = tmp_path / "curve.json"
    saved.write_text(text)
    with pytest.raises(SystemExit, match="not a curve's figures"):
        curves.plotted(saved)
    assert not (tmp_path / "curve.svg").exists()


def test_the_pods_pull_the_image_only_when_it_was_pushed_to_a_registry() -> None:
    imported = [container(o) for o in render(plan()) if o["kind"] == "Job"]
    pushed_plan = Plan(
        "mixed", LOAD, 2, "localhost:5001/demo-micro/load:0.1.0", plan().target, "Always"
    )
    pushed = [container(o) for o in render(pushed_plan) if o["kind"] == "Job"]

    assert [c["imagePullPolicy"] for c in imported] == ["Never", "Never"]
    assert [(c["image"], c["imagePullPolicy"]) for c in pushed] == [
        ("localhost:5001/demo-micro/load:0.1.0", "Always")
    ] * 2


def test_an_attached_target_gets_the_image_through_its_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # arrange: a target of a kubeconfig and a registry address; the host-side build and push
    # recorded (no cluster, no registry: what is checked is which delivery is chosen)
    from testbed import images, registry
    from testbed.attach import Target
    from testbed.settings import Settings

    pushes: list[tuple[list[str], str]] = []
    monkeypatch.setattr(images, "build_load_image", lambda settings, offline: "demo-micro/load:1")

    def push(local: list[str], address: str) -> dict[str, str]:
        pushes.append((list(local), address))
        return {name: f"{address}/{name}" for name in local}

    monkeypatch.setattr(registry, "push", push)
    target = Target(Settings.from_env(), tmp_path / "kubeconfig", registry.Registry("reg:5001"))
    # act
    image, pull_policy = distributed.delivered_image(target)
    # assert: pushed to the target's registry and pulled from there, never imported into nodes
    assert pushes == [(["demo-micro/load:1"], "reg:5001")]
    assert (image, pull_policy) == ("reg:5001/demo-micro/load:1", "Always")
