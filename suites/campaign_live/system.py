"""The fault campaign's system on the kind testbed (`runner.System`): the clients call the gateway
through its NodePort, the nemesis deletes pods through the Kubernetes API, and the final state is
read from the databases themselves, inside their own pods.

The lanes come from the drawing: the services built from this project's source, and what they
call that is not one of them (the databases, Redis, the queue). A fault deletes one Ready pod of
its workload, picked by the seed:
- `kill`: deleted with a grace period of 1 s: SIGTERM, SIGKILL a second later (`KILL_GRACE`:
  not 0, a force deletion);
- `term`: deleted as a rollout or a drain deletes it: preStop, SIGTERM, the grace period;
- `pause`: every process of the pod frozen (its cgroup in the node's freezer), then thawed after
  the down time: a hung pod whose connections the kernel still accepts, while the other
  replicas go on. Long pauses (7.5-11.5 s) stay below every liveness probe's patience (3
  failures 10 s apart at least), so the kubelet does not restart the pod meanwhile.
A kill's, term's or pause's window closes when the workload and every workload that calls it
have all their replicas Ready again, counted by their pods (a Deployment's status lags a
deletion): a database's callers are unready while it is down, as their readiness checks it.
PostgreSQL and Redis also take `sever`, and PostgreSQL `crash`: one of its server processes
SIGKILLed from the node (`testbed.faults.crash_postgres`), so the postmaster ends every session,
throws away the WAL not yet written and replays the rest, in the same pod; the window closes
when the server answers again and every caller is Ready. A third lane takes the calls between
the workloads, as the drawing lists them (`client->server`): `partition` drops the call's
packets both ways in one Ready pod of the client, in its own network namespace
(testbed/faults.py), for the down time; `delay` holds every packet that pod sends on the call
for the fault's delay (`faults.delayed`: a delayer on the host, as this kernel has no netem);
the other replicas go on; the window closes when the packets flow again, undelayed; `reset`
ends every connection that pod holds on the call with a TCP reset both ways (`ss -K` in its
namespace: `faults.reset_connections`), and new ones go through at once, so its window closes
when the reset is done.

The testbed keeps other runs' orders, so everything is read for the campaign's window only:
orders, reservations and notifications created since the campaign began (order-db's clock for
the orders and reservations, the host's for the notifications; kind's nodes share it).
"""

from __future__ import annotations

import atexit
import json
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from kubernetes.client.exceptions import ApiException

from kubepromises.waiting import NotYet, eventually, truthy
from suites import promises
from suites.campaign import generator, nemesis, runner, state
from suites.campaign.history import FaultWindow, History
from suites.campaign.schedule import Clock
from suites.resilience import sessions
from suites.resilience.live import ROLLOUT_TIMEOUT, psql, selector, wait_replaced
from system.order_service.config import Settings as OrderServiceSettings
from testbed import faults
from testbed.cluster import Testbed
from testbed.kube import Kube, is_ready
from testbed.shell import CommandFailed, run

#: The faults a pod takes on the testbed; a server with a `SEVER` command takes `sever` too.
KINDS = ("kill", "term", "pause")
#: The services' timings as deployed: the manifests set none of them, so their defaults hold.
_ORDER_SERVICE = OrderServiceSettings.model_fields
PENDING_BOUND = float(_ORDER_SERVICE["pending_bound_seconds"].default)
RECONCILE_EVERY = float(_ORDER_SERVICE["reconcile_every_seconds"].default)
RESEND_AFTER = float(_ORDER_SERVICE["resend_undelivered_after_seconds"].default)
#: How long a replay waits for an earlier run's pending orders of its SKUs: the pending bound,
#: the reconciler's period, and as much again.
EARLIER_RUN_SECONDS = 2 * (PENDING_BOUND + RECONCILE_EVERY)
#: A command in a pod: how long it may take, and how often it is tried.
EXEC_SECONDS = 120
EXEC_ATTEMPTS = 3
#: The faults a call between two workloads takes on the testbed.
LINK_KINDS = ("partition", "delay", "reset")
#: How long a `reset` looks for a client pod that holds a connection on the call. Longer than the
#: gateway's Redis cool-down (5 s), in which it holds none: CI's run of 6 Dec 2026 reset a gateway
#: pod's Redis connections at such a moment, ended none, and the campaign rightly failed.
RESET_LOOK_SECONDS = 15.0
#: A `kill`'s grace period: SIGTERM, then SIGKILL a second later. Not 0: through the API, 0 is a
#: force deletion, which removes the pod object at once while its containers still run, so a
#: StatefulSet starts the replacement beside them: a second PostgreSQL on the same volume. The
#: first 30-min run on the testbed (3 Dec 2026, seed 510057) lost 154 acknowledged orders, every
#: one acknowledged inside an order-db kill window.
KILL_GRACE = 1
#: The kubelet's pod cgroups in the freezer hierarchy of a kind node (cgroup v1, systemd
#: driver; checked on this machine's nodes, 3 Dec 2026).
FREEZER = "/sys/fs/cgroup/freezer/kubelet.slice/kubelet-kubepods.slice"


#: How a server of each upstream image ends every client connection it holds and goes on
#: running (the `sever` fault, as the local campaign's): how, the command run in its pod, its
#: stdin; each prints how many it ended.
SEVER = {
    "postgres": (
        "pg_terminate_backend",
        psql("postgres"),
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    ),
    # redis-cli reads the password from REDISCLI_AUTH, which the manifest sets.
    "redis": (
        "CLIENT KILL TYPE normal",
        ["redis-cli", "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
        "",
    ),
}
#: Notifications are stamped by notification-service's clock and orders by order-db's; a margin
#: for the difference between the two (the same host's clock on kind).
CLOCK_MARGIN = timedelta(seconds=5)

#: Run by python inside a notification-service pod, with its own settings and client: every
#: notification stored since the moment given on stdin, as order id -> the status of each.
_NOTIFICATIONS_SCRIPT = """
import asyncio, json, sys
from datetime import datetime
from system.notification_service.config import Settings
from system.notification_service.main import mongo_client

async def main():
    since = datetime.fromisoformat(sys.stdin.readline().strip())
    settings = Settings()
    client = mongo_client(settings)
    found = {}
    cursor = client[settings.mongodb_database]["notifications"].find(
        {"created_at": {"$gte": since}}, {"_id": False, "order_id": True, "order_status": True}
    )
    async for document in cursor:
        found.setdefault(str(document["order_id"]), []).append(str(document.get("order_status")))
    await client.close()
    print(json.dumps(found))

asyncio.run(main())
"""

#: Run by python inside an inventory-service pod (its port the argument): the products given on
#: stdin (a JSON list of [sku, body]) PUT to the service itself, as the local campaign does.
_PRODUCTS_SCRIPT = """
import json, sys, urllib.request
port = int(sys.argv[1])
for sku, body in json.loads(sys.stdin.read()):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/products/{sku}", data=json.dumps(body).encode(),
        method="PUT", headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status < 300, (sku, response.status)
print("ok")
"""


def freezer_state(pod: Any) -> str:
    """The freezer.state file of a pod's cgroup on its node (named by QoS class and uid)."""
    qos, uid = str(pod.status.qos_class).lower(), str(pod.metadata.uid).replace("-", "_")
    if qos == "guaranteed":
        return f"{FREEZER}/kubelet-kubepods-pod{uid}.slice/freezer.state"
    slice_ = f"kubelet-kubepods-{qos}.slice/kubelet-kubepods-{qos}-pod{uid}.slice"
    return f"{FREEZER}/{slice_}/freezer.state"


def set_freezer(node: str, state_file: str, value: str) -> None:
    """FROZEN or THAWED, written in the node's container."""
    missing = f'{{ echo "no freezer cgroup: {state_file}" >&2; exit 1; }}'
    script = f'test -e "{state_file}" || {missing}; echo {value} > "{state_file}"'
    run(["docker", "exec", node, "sh", "-c", script], timeout=30, what=f"{value.lower()} a pod")


#: Pods frozen by a pause and not yet thawed: (node, freezer.state) -> pod name.
_frozen: dict[tuple[str, str], str] = {}
_frozen_lock = threading.Lock()


def thaw_all() -> tuple[list[str], list[str]]:
    """Thaw every pod a pause left frozen: the names of those it thawed, and what failed (one
    failure does not keep the others frozen)."""
    with _frozen_lock:
        frozen = dict(_frozen)
    thawed, failed = [], []
    for (node, state_file), name in sorted(frozen.items()):
        try:
            set_freezer(node, state_file, "THAWED")
            thawed.append(name)
        except CommandFailed as exc:
            failed.append(f"{name}: {exc}")
        with _frozen_lock:
            _frozen.pop((node, state_file), None)
    return thawed, failed


# A run that ends any other way (an error, a timeout) leaves no pod frozen.
atexit.register(thaw_all)


@contextmanager
def thawed_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM thaws every frozen pod before the process ends (it would skip
    the atexit thaw: a `kill` of a campaign left order-db frozen on 6 Dec 2026, and every
    order-service pod unready behind it until it was thawed by hand)."""

    def thaw_and_exit(signum: int, _: FrameType | None) -> None:
        thaw_all()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, thaw_and_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class LiveSystem:
    """The testbed as the campaign's system (see the module's docstring)."""

    def __init__(
        self, testbed: Testbed, kube: Kube, gateway_url: str, overlay: str, seed: int
    ) -> None:
        self.gateway_url = gateway_url
        # The cluster's kubelet asks the probes itself.
        self.probed: dict[str, str] = {}
        self._testbed = testbed
        self._kube = kube
        self._rng = random.Random(f"{seed}-pods")
        self._rng_lock = threading.Lock()
        workloads = {w.name: w for w in promises.workloads_in(overlay)}
        services = sorted(name for name, w in workloads.items() if w.image is None)
        calls = promises.calls_in(overlay)
        called = {c.target for c in calls if c.source in services}
        self._lanes = {"services": services, "dependencies": sorted(called - set(services))}
        self._kinds = {name: workloads[name].kind for lane in self._lanes.values() for name in lane}
        self._replicas = {name: workloads[name].replicas for name in self._kinds}
        #: Each workload and those that call it: what a fault of it leaves to come back.
        self._affected = {
            name: [name, *sorted({c.source for c in calls if c.target == name} & set(self._kinds))]
            for name in self._kinds
        }
        self._links = {f"{c.source}->{c.target}": c for c in calls if c.source in services}
        self._lanes["links"] = sorted(self._links)
        #: Each target's upstream image name (`postgres`, `redis`; none for our services).
        upstream = {
            name: image.online.split(":")[0]
            for name in self._kinds
            if (image := workloads[name].image) is not None
        }
        #: The targets that can end their clients' connections, and the PostgreSQL servers,
        #: which take `crash`: by their upstream image.
        self._severers = {name: SEVER[u] for name, u in upstream.items() if u in SEVER}
        self._crashable = {name for name, u in upstream.items() if u == "postgres"}
        self._since: str | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def add_products(self, products: list[generator.Product]) -> None:
        """The products, with their initial stock; first, a replay of a seed waits until the
        earlier run's pending orders of the same SKUs are final (their reservations released
        afterwards would add to the fresh stock, and stock would not be conserved)."""
        self._wait_no_pending_orders_of([p.sku for p in products])
        port = promises.workload("inventory-service").port
        given = json.dumps([[p.sku, runner.product_body(p)] for p in products]).encode()
        self._exec("inventory-service", ["python", "-c", _PRODUCTS_SCRIPT, str(port)], given)

    def _wait_no_pending_orders_of(self, skus: list[str]) -> None:
        query = (
            "SELECT id::text AS id FROM orders WHERE status = 'pending' AND EXISTS"
            " (SELECT 1 FROM jsonb_array_elements(items) i"
            f" WHERE i->>'sku' IN ({_listed(skus)}))"
        )

        def none_pending() -> None:
            pending = [row["id"] for row in self._rows("order-db", "orders", query)]
            if pending:
                raise NotYet(f"{len(pending)} pending orders of these SKUs: {pending[:5]}")

        eventually(
            none_pending,
            timeout=EARLIER_RUN_SECONDS,
            interval=2,
            what="an earlier run's pending orders of the campaign's SKUs final",
            hint=f"the reconciler finishes a pending order past its bound ({PENDING_BOUND:g} s)",
        )

    def prepare(self) -> None:
        (row,) = self._rows("order-db", "orders", "SELECT now() AS now")
        self._since = str(row["now"])

    @property
    def since(self) -> str:
        """order-db's clock when the campaign began (`prepare` reads it)."""
        if self._since is None:
            raise RuntimeError("the campaign's state is read only after prepare()")
        return self._since

    # -- the nemesis ----------------------------------------------------------------------------
    def lanes(self) -> dict[str, list[str]]:
        return {lane: list(targets) for lane, targets in self._lanes.items()}

    def kinds(self) -> dict[str, tuple[str, ...]]:
        kinds = {
            name: KINDS
            + (("sever",) if name in self._severers else ())
            + (("crash",) if name in self._crashable else ())
            for name in self._kinds
        }
        return kinds | dict.fromkeys(self._links, LINK_KINDS)

    def inject(self, fault: nemesis.PlannedFault, clock: Clock) -> FaultWindow:
        """Delete one Ready pod of the workload (`kill`: grace KILL_GRACE; `term`: its grace
        period) and wait until it and its callers are whole again; or have the server end its
        clients' connections (`sever`); or crash a PostgreSQL server (`crash`); or cut a call
        (`partition`), slow it (`delay`) or reset its connections (`reset`)."""
        if fault.target in self._links:
            return self._on_link(fault, clock)
        workload = fault.target
        if fault.kind == "sever":
            how, command, stdin = self._severers[workload]
            start = clock.now()
            ended = int(self._exec(workload, command, stdin.encode()).split()[-1])
            return FaultWindow(
                "sever", workload, how, start, start, clock.now(),
                f"{ended} connections ended", ended=ended,
            )  # fmt: skip

        pod = self._ready_pod(workload)
        name, uid = str(pod.metadata.name), str(pod.metadata.uid)
        if fault.kind == "pause":
            return self._pause(workload, pod, clock, fault.down)
        if fault.kind == "crash":
            return self._crash(workload, name, clock)
        start = clock.now()
        self._kube.delete_pod(name, grace_seconds=KILL_GRACE if fault.kind == "kill" else None)
        stopped = clock.now()
        how = f"pod deleted, grace {KILL_GRACE} s" if fault.kind == "kill" else "pod deleted"
        wait_replaced(self._kube, workload, uid, timeout=ROLLOUT_TIMEOUT)
        self._wait_whole(self._affected[workload])
        return FaultWindow(fault.kind, workload, how, start, stopped, clock.now(), f"pod {name}")

    def _ready_pod(self, workload: str) -> Any:
        """One Ready pod of the workload, picked by the seed; waits while it has none."""

        def ready_pods() -> list[Any]:
            # None Ready is a moment, not an end: both inventory-service pods are unready while
            # inventory-db is down (their readiness checks it); the 30-min run of 3 Dec 2026
            # ended its services lane at 18 s on that.
            ready = self._kube.ready_pods(selector(workload))
            if not ready:
                raise NotYet(f"no Ready {workload} pod")
            return sorted(ready, key=lambda p: str(p.metadata.name))

        pods = eventually(
            ready_pods, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"a Ready {workload} pod"
        )
        with self._rng_lock:
            return self._rng.choice(pods)

    def _on_link(self, fault: nemesis.PlannedFault, clock: Clock) -> FaultWindow:
        """Drop the call's packets both ways (`partition`), or hold each packet the client sends
        on it `fault.delay` seconds (`delay`), in one Ready pod of the client for the fault's down
        time. A pod whose deletion (another lane's fault) begins while the fault goes in is
        passed over for another."""
        link = fault.target
        call = self._links[link]
        peers = faults.peers(self._kube, call.target, selector(call.target))
        if fault.kind == "reset":
            return self._reset(link, peers, clock)
        if fault.kind == "delay":
            how = f"+{fault.delay:.2f} s on each packet the client sends"
        else:
            how = "packets dropped both ways"
        with ExitStack() as undo:

            def put_in() -> str:
                name = str(self._ready_pod(call.source).metadata.name)
                injected = (
                    faults.delayed(self._kube, name, peers, call.port, fault.delay)
                    if fault.kind == "delay"
                    else faults.partition(self._kube, name, peers, call.port)
                )
                try:
                    undo.enter_context(injected)
                except (LookupError, ValueError, CommandFailed, ApiException) as exc:
                    if faults.pod_in_place(self._kube, name):
                        raise
                    raise NotYet(f"{name} went away: {exc}") from exc
                return name

            name = eventually(
                put_in, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"{fault.kind} on {link}"
            )
            start = clock.now()
            clock.hold_until(start + fault.down)
        # A client cut off from what its readiness checks went unready: Ready again first.
        self._wait_whole(self._affected[call.source])
        return FaultWindow(fault.kind, link, how, start, start, clock.now(), f"pod {name}")

    def _reset(self, link: str, peers: list[str], clock: Clock) -> FaultWindow:
        """End every connection the call carries now in one Ready pod of the client, with a
        TCP reset both ways (`faults.reset_connections`); new ones go through at once. A pod
        holding none (new, or its caller skipping the call for a while) is passed over for up to
        RESET_LOOK_SECONDS; after that the window records that nothing was ended."""
        call = self._links[link]

        def reset() -> tuple[str, int]:
            name = str(self._ready_pod(call.source).metadata.name)
            try:
                return name, faults.reset_connections(self._kube, name, peers, call.port)
            except (LookupError, ValueError, CommandFailed, ApiException) as exc:
                if faults.pod_in_place(self._kube, name):
                    raise
                raise NotYet(f"{name} went away: {exc}") from exc

        start = clock.now()
        looking_until = time.monotonic() + RESET_LOOK_SECONDS
        while True:
            name, ended = eventually(
                reset, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"reset {link}"
            )
            if ended or time.monotonic() >= looking_until:
                break
            time.sleep(0.5)
        return FaultWindow(
            "reset", link, "every connection reset", start, start, clock.now(),
            f"pod {name}, {ended} connections ended", ended=ended,
        )  # fmt: skip

    def _crash(self, workload: str, name: str, clock: Clock) -> FaultWindow:
        """SIGKILL to one server process of the pod's PostgreSQL; the window closes once the
        server answers a query again and the workload and its callers are whole."""

        def crash() -> int:
            try:
                return faults.crash_postgres(self._kube, name)
            except LookupError as exc:  # its WAL writer not (yet) running: recovering
                raise NotYet(str(exc)) from exc

        start = clock.now()
        killed = eventually(crash, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"{name} crashed")
        stopped = clock.now()
        self._exec(workload, psql("postgres"), b"SELECT 1")  # tried again while it recovers
        self._wait_whole(self._affected[workload])
        return FaultWindow(
            "crash", workload, f"SIGKILL to its {faults.CRASHED_PROCESS}", start, stopped,
            clock.now(), f"pod {name}, pid {killed} on its node",
        )  # fmt: skip

    def _pause(self, workload: str, pod: Any, clock: Clock, down: float) -> FaultWindow:
        """Freeze the pod for `down` seconds, thaw it, and wait until it is Ready again."""
        name, node, state_file = str(pod.metadata.name), str(pod.spec.node_name), freezer_state(pod)
        start = clock.now()
        with _frozen_lock:
            _frozen[(node, state_file)] = name
        set_freezer(node, state_file, "FROZEN")
        try:
            clock.hold_until(clock.now() + down)  # frozen from now: docker exec takes its time
        finally:
            set_freezer(node, state_file, "THAWED")
            with _frozen_lock:
                _frozen.pop((node, state_file), None)
        resumed = clock.now()

        def ready_again() -> None:
            if not is_ready(self._kube.pod(name)):
                raise NotYet(f"{name} not Ready")

        eventually(ready_again, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"{name} Ready again")
        self._wait_whole(self._affected[workload])
        return FaultWindow(
            "pause", workload, "cgroup frozen", start, start, clock.now(), f"pod {name}",
            resumed=resumed,
        )  # fmt: skip

    def _wait_whole(self, workloads: list[str]) -> None:
        """Until each workload has as many Ready pods as the drawing gives it replicas, counted
        by the pods: a Deployment's status lags a deletion, so it can still say "whole" for a
        moment after one."""

        def whole() -> None:
            short = {}
            for name in workloads:
                ready = len(self._kube.ready_pods(selector(name)))
                if ready < self._replicas[name]:
                    short[name] = f"{ready} of {self._replicas[name]} Ready"
            if short:
                raise NotYet(short)

        eventually(whole, timeout=ROLLOUT_TIMEOUT, interval=0.5, what=f"{workloads} whole")

    def recover(self, history: History) -> None:
        thawed, failed = thaw_all()
        if thawed:
            history.nemesis_errors.append(f"left frozen by a failed pause, thawed: {thawed}")
        if failed:
            history.nemesis_errors.append(f"left frozen, and the thaw failed: {failed}")
        try:
            self._wait_whole(list(self._kinds))
        except AssertionError as exc:
            history.nemesis_errors.append(f"not whole again: {exc}")

    # -- the state ------------------------------------------------------------------------------
    def orders(self) -> dict[str, state.OrderRow]:
        rows = self._rows(
            "order-db",
            "orders",
            "SELECT id::text AS id, idempotency_key AS key, status, customer_email AS email,"
            " items, extract(epoch FROM now() - created_at)::float8 AS age FROM orders"
            f" WHERE created_at >= '{self.since}'",
        )
        return {
            r["id"]: state.OrderRow(
                r["id"], r["key"], r["status"], r["email"], state.items(r["items"]), float(r["age"])
            )
            for r in rows
        }

    def events(self) -> dict[str, list[str]]:
        rows = self._rows(
            "order-db",
            "orders",
            "SELECT payload->'order'->>'id' AS id, sent_at IS NOT NULL AS sent,"
            " delivered_at IS NOT NULL AS delivered FROM outbox"
            f" WHERE created_at >= '{self.since}' ORDER BY id",
        )
        found: dict[str, list[str]] = {}
        for r in rows:
            where = (
                "delivered" if r["delivered"] else "sent, not delivered" if r["sent"] else "unsent"
            )
            found.setdefault(str(r["id"]), []).append(where)
        return found

    def notifications(self) -> dict[str, list[str]]:
        since = (datetime.fromisoformat(self.since) - CLOCK_MARGIN).astimezone(UTC)
        out = self._exec(
            "notification-service",
            ["python", "-c", _NOTIFICATIONS_SCRIPT],
            f"{since.replace(tzinfo=None).isoformat()}\n".encode(),
        )
        found: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])
        # The margin lets in notifications of orders made before the campaign (an earlier test's,
        # one the reconciler finished late, a resend): order-db says which those are. An id it
        # does not have at all stays, for the checker to report.
        ids = [i for i in found if _is_uuid(i)]
        earlier = self._rows(
            "order-db",
            "orders",
            f"SELECT id::text AS id FROM orders WHERE id::text IN ({_listed(ids)})"
            f" AND created_at < '{self.since}'",
        ) if ids else []  # fmt: skip
        for row in earlier:
            found.pop(row["id"], None)
        return found

    def notification_counts(self) -> dict[str, int]:
        return {order_id: len(found) for order_id, found in self.notifications().items()}

    def not_notified(self) -> int:
        orders, counts = self.orders(), self.notification_counts()
        final = [o.id for o in orders.values() if o.status != "pending"]
        unsent = sum(where.count("unsent") for where in self.events().values())
        return unsent + sum(not counts.get(i) for i in final)

    def read_state(self, initial_stock: dict[str, int], first_count: dict[str, int]) -> state.State:
        orders = self.orders()
        reservations = {
            r["key"]: state.ReservationRow(r["key"], r["status"], state.items(r["items"]), r["age"])
            for r in self._rows(
                "inventory-db",
                "inventory",
                "SELECT key, status, items, extract(epoch FROM now() - created_at)::float8 AS age"
                f" FROM reservations WHERE created_at >= '{self.since}'",
            )
        }
        skus = ",".join(f"'{sku}'" for sku in initial_stock)
        stock = {
            r["sku"]: int(r["stock"])
            for r in self._rows(
                "inventory-db",
                "inventory",
                f"SELECT sku, stock FROM products WHERE sku IN ({skus})",
            )
        }
        listed = state.read_api_orders(self.gateway_url, wanted=orders)
        api = {o: s for o, s in listed.items() if o in orders}
        return state.State(
            orders=orders,
            reservations=reservations,
            initial_stock=dict(initial_stock),
            stock=stock,
            notifications=self.notifications(),
            first_count=dict(first_count),
            api_orders=api,
            events=self.events(),
        )

    # -- inside the pods ------------------------------------------------------------------------
    def sessions_idle_in_transaction(self, longer_than: float) -> list[str]:
        """Each PostgreSQL session (of any database the drawing runs PostgreSQL for) idle in a
        transaction for longer than `longer_than` seconds: a client that vanished inside a
        transaction leaves one, holding its locks (the campaign of seed 31980)."""
        found = []
        for database in sorted(self._crashable):
            for row in self._rows(
                database,
                "postgres",
                "SELECT usename, client_addr::text AS client, datname,"
                " extract(epoch FROM now() - state_change)::float8 AS idle"
                " FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
                f" AND now() - state_change > make_interval(secs => {float(longer_than)})",
            ):
                found.append(
                    f"{database}: {row['usename']} from {row['client'] or 'the local socket'} in "
                    f"{row['datname']}, idle in a transaction for {row['idle']:.0f} s"
                )
        return found

    def sessions_of_gone_clients(self) -> list[sessions.Session]:
        """Each TCP session of a PostgreSQL server of the drawing whose client is gone
        (`suites.resilience.sessions`): a pod deleted while cut off from it leaves one."""
        addresses = sessions.pod_addresses(self._kube)
        found = []
        for database in sorted(self._crashable):
            out = self._exec(database, psql("postgres"), sessions.SESSIONS_SQL.encode())
            found += sessions.of_gone_clients(sessions.parsed(database, out), addresses)
        return found

    def execute(self, database: str, dbname: str, sql: str) -> str:
        """A statement run by psql in the database's pod (the negative control plants with it)."""
        return self._exec(database, psql(dbname), sql.encode())

    def _rows(self, database: str, dbname: str, sql: str) -> list[dict[str, Any]]:
        """Each row of `sql` as a dict, through JSON (text with any character survives)."""
        wrapped = f"SELECT row_to_json(t) FROM ({sql}) t"
        out = self._exec(database, psql(dbname), wrapped.encode())
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def _exec(self, workload: str, command: list[str], stdin: bytes) -> str:
        """`command` (no shell unless it names one) in a Ready pod of the workload; a failed
        exec is tried again (the pod may have been deleted or its server restarted meanwhile:
        the nemesis' faults go on while the campaign reads), up to EXEC_ATTEMPTS times."""
        failures: list[str] = []
        while True:
            pods = eventually(
                truthy(lambda: self._kube.ready_pods(selector(workload))),
                timeout=ROLLOUT_TIMEOUT,
                interval=1,
                what=f"a Ready {workload} pod",
            )
            args = ["exec", "-i", "-n", self._kube.namespace, pods[0].metadata.name, "--"]
            try:
                return self._testbed.kubectl(*args, *command, timeout=EXEC_SECONDS, stdin=stdin)
            except CommandFailed as exc:
                failures.append(str(exc))
                if len(failures) == EXEC_ATTEMPTS:
                    raise
                time.sleep(1)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _listed(values: list[str]) -> str:
    """An SQL list of quoted literals (of values checked to need no escaping)."""
    return ",".join(f"'{value}'" for value in values)
