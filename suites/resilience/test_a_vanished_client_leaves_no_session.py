"""A client that vanishes without a word leaves no PostgreSQL session behind for long.

One order-service pod is cut off from order-db (its packets dropped in its own network
namespace) and deleted at once: its connections send no FIN and no reset that arrives, and the
server hears nothing. order-db must end every session of that pod by itself within the drawing's
bound (`vanished-client-session`): an idle one through its keepalive probes, one whose answer
is still unacknowledged through its retransmission timeout. The services' roles bound both
(manifests/base/postgres-init/app-role.psql); suites/resilience/sessions.py says why it matters.

The pod's sessions are its pools' (idle) and four this test opens from inside it, as the
service's own role: one idle, one waiting for an answer that is sent into the partition, and one
of each that takes back, for itself, the setting that bounds it (`tcp_keepalives_idle = 0`:
the kernel's two hours; `tcp_user_timeout = 0`: retransmissions for about fifteen minutes).
Those two are the negative controls: after the bound the check must still find them. The test
ends them.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.resilience import sessions
from suites.resilience.live import record, selector, wait_pod_gone, wait_rolled_out
from testbed import faults
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

SERVICE = "order-service"
DATABASE = "order-db"
DATABASE_PORT = promises.workload(DATABASE).port
BOUND = promises.DRAWING.slo("vanished-client-session").at_most
#: The answering sessions' query ends this long after it is sent: time enough to cut the pod
#: off first (locating its namespace and inserting the rules takes a few seconds).
ANSWER_AFTER = 10
#: What each session this test opens sets for itself, by its application name.
OPENED = {
    "vanished-idle": "",
    "vanished-answering": "",
    "vanished-idle-control": "SET tcp_keepalives_idle = 0",
    "vanished-answering-control": "SET tcp_user_timeout = 0",
}
CONTROLS = {"vanished-idle-control", "vanished-answering-control"}
ANSWERING = {"vanished-answering", "vanished-answering-control"}

#: Run by the pod's own Python: the sessions, as the service connects (its settings, its
#: connection string), then the answering ones' queries; it prints "asked" and waits.
CLIENT = f"""
import threading, time
import psycopg
from system.common.postgres import conninfo
from system.order_service.config import Settings

s = Settings()
dsn = conninfo(s.order_db_host, s.order_db_port, s.order_db_name, s.order_db_user,
               s.order_db_password.get_secret_value())
held = {{}}
for name, statement in {OPENED!r}.items():
    held[name] = psycopg.connect(dsn, application_name=name, autocommit=True)
    if statement:
        held[name].execute(statement)
for name in {sorted(ANSWERING)!r}:
    threading.Thread(
        target=held[name].execute, args=("SELECT pg_sleep({ANSWER_AFTER})",), daemon=True
    ).start()
time.sleep(1)
print("asked", flush=True)
time.sleep(3600)
"""


def sessions_of(testbed: Testbed, kube: Kube, address: str) -> list[sessions.Session]:
    return [s for s in sessions.read(testbed, kube, DATABASE) if s.client == address]


def test_order_db_ends_the_sessions_of_a_client_that_vanished_within_the_bound(
    testbed: Testbed, kube: Kube
) -> None:
    # arrange: a Ready order-service pod with its pools' sessions and the four opened here
    wait_rolled_out(kube, SERVICE)
    wait_rolled_out(kube, DATABASE, kind="StatefulSet")
    pod = kube.ready_pods(selector(SERVICE))[0]
    name, address = pod.metadata.name, str(pod.status.pod_ip)
    peers = faults.peers(kube, DATABASE, selector(DATABASE))
    client = subprocess.Popen(
        [
            str(testbed.kubectl_binary()),
            f"--kubeconfig={testbed.settings.kubeconfig}",
            *("exec", "-n", kube.namespace, name, "--", "python", "-c", CLIENT),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        assert client.stderr is not None
        if client.stdout.readline().strip() != "asked":
            client.kill()
            pytest.fail(f"the client in {name} did not open its sessions: {client.stderr.read()}")
        before = sessions_of(testbed, kube, address)
        pools = [s for s in before if s.application == "demo-micro"]
        assert pools, f"{name} ({address}) holds no pool session in {DATABASE}: {before}"
        assert {s.application for s in before} >= set(OPENED), before

        # act: the pod cut off from order-db, its answers still owed, then deleted at once
        with faults.partition(kube, name, peers, DATABASE_PORT):
            owed = {s.application for s in sessions_of(testbed, kube, address)}
            assert owed >= ANSWERING, (
                f"the answers went out before the partition; raise ANSWER_AFTER ({owed})"
            )
            kube.delete_pod(name, grace_seconds=0)
            deleted_at = time.monotonic()
            wait_pod_gone(kube, name)
        client.wait(timeout=60)

        # assert: within the bound, order-db holds no session of the pod but the controls
        def only_the_controls_left() -> list[sessions.Session]:
            left = sessions.of_gone_clients(
                sessions_of(testbed, kube, address), sessions.pod_addresses(kube)
            )
            bounded = [s for s in left if s.application not in CONTROLS]
            if bounded:
                raise NotYet("; ".join(map(str, bounded)))
            return left

        left = eventually(
            only_the_controls_left,
            timeout=BOUND - (time.monotonic() - deleted_at),
            interval=2,
            what=f"order-db ending the sessions of {name}, deleted while cut off from it",
            hint="the services' roles bound a silent client (app-role.psql)",
        )
        ended_after = time.monotonic() - deleted_at
        record("vanished_client.sessions_ended_seconds", round(ended_after, 1))
        record(
            "vanished_client",
            f"{len(pools)} pool and {len(OPENED) - len(CONTROLS)} opened sessions of {name} "
            f"ended {ended_after:.0f} s after its deletion (bound {BOUND:.0f} s)",
        )
        # the negative controls: the sessions that took back their bound are still there, and
        # the check names them as sessions of a gone client
        assert {s.application for s in left} == CONTROLS, left
    finally:
        client.kill()
        # the controls would stay for hours
        sessions.end_sessions_from(testbed, kube, DATABASE, address)
        wait_rolled_out(kube, SERVICE)
