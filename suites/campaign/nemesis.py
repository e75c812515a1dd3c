"""The nemesis: process faults on a seeded schedule, each recorded as a fault window.

Two lanes run at once, one over the four services and one over the dependency servers
(PostgreSQL, Redis, moto, FerretDB), so faults overlap as they would in a cluster. Each lane
visits its targets in a seeded order, every target once before any twice.

A fault is one of
- `kill`: SIGKILL to the whole process tree, as a container dies with its children (for
  PostgreSQL: the postmaster and every backend; a lone SIGKILL to the postmaster would leave
  backends holding the shared memory, and the restart would refuse to start). The tree, not
  the process group: PostgreSQL's backends each call setsid(), so the postmaster's group holds
  the postmaster alone;
- `term`: the stop signal a deployment sends: SIGTERM to the main process, or for PostgreSQL
  SIGINT (fast shutdown; the manifests' preStop sends it, because SIGTERM is PostgreSQL's smart
  shutdown, which waits for every pooled session), with SIGKILL after `STOP_GRACE_SECONDS`;
- `pause`: SIGSTOP to the whole process tree, SIGCONT after the down time: a hung process.
  The kernel still accepts its connections and nobody answers them, which is how a partition
  or a stalled node looks to its clients; only timeouts end a request to it. Half the pauses
  are short (past the gateway's Redis timeout and the pools' waits), half long (past
  order-service's deadline and the gateway's read timeout), so every budget of the chain is
  met by a hang;
- `sever`: the server ends every client connection it holds and goes on running, as after a
  failover, a proxy's restart or an idle-connection reaper: every pooled connection of the
  services is dead at once, and each must notice and connect again. Only servers that can end
  their clients' sessions take it (`Severer`: PostgreSQL's `pg_terminate_backend`, Redis's
  `CLIENT KILL`); its window closes when the connections are ended;
- `crash` (the testbed's campaign only: `suites/campaign_live`): one PostgreSQL server process
  SIGKILLed, which the postmaster takes for a crash: every session ended, the shared memory
  with the WAL not yet written thrown away, the WAL replayed, in about 0.1 s. Here a `kill` of
  PostgreSQL is a crash already (the whole tree SIGKILLed); on the testbed a `kill` deletes the
  pod, which shuts the server down first;
- `partition`, `delay` and `reset`, on a link (`links.py`: a relay between one service and one
  server) rather than a process: nothing crosses the link for the down time (each side meets
  only its own timeouts, while the server goes on serving its other clients), or every chunk
  crossing it waits a seeded 0.05-1 s each way, or every connection it carries is ended with a
  TCP reset, both ways, and new ones go through (a proxy's restart, a load balancer's idle
  timeout: on the services' HTTP links, a pooled keep-alive connection dies under a request or
  between two). The window closes when the link is healed (a reset's at once).

After a kill or a stop the process is started again on the same port; after a pause it is
continued. Either way the window closes when the process answers its readiness check again.
A paused process tree is always continued: by the fault itself (`finally`), by `resume_all`
(the campaign fixture's teardown, whatever failed) and at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from redis import Redis

from suites.system.servers import ManagedProcess
from suites.waiting import scaled

from .history import FaultWindow, History
from .links import Links
from .schedule import Clock

#: The faults every process takes; a `Severer`'s server takes `sever` as well; a link takes the
#: link faults.
PROCESS_KINDS = ("kill", "term", "pause")
SEVERABLE_KINDS = (*PROCESS_KINDS, "sever")
LINK_KINDS = ("partition", "delay", "reset")
KINDS = (*SEVERABLE_KINDS, "crash", *LINK_KINDS)
#: How long a slowed link stays slow, and how long each chunk waits on it.
DELAY_FOR = (1.0, 8.0)
DELAY_EACH = (0.05, 1.0)
#: A long pause's down time: past order-service's ORDER_DEADLINE_SECONDS (7) and the gateway's
#: UPSTREAM_READ_TIMEOUT_SECONDS (10), so the requests that meet it end by those timeouts.
LONG_PAUSE = (7.5, 11.5)
#: How long a stopped process may take to exit before SIGKILL (services drain in-flight
#: requests for up to GRACEFUL_SHUTDOWN_SECONDS; an idle one exits in well under a second).
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Severer:
    """How a server ends every client connection it holds (the `sever` fault)."""

    how: str
    #: Ends the connections; how many it ended.
    end_all: Callable[[], int]


def end_postgres_sessions(port: int) -> int:
    """Terminate every client session of the PostgreSQL server but this one."""
    with psycopg.connect(
        f"host=127.0.0.1 port={port} user=demo dbname=postgres", autocommit=True
    ) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (done,) in ended if done)


def end_redis_clients(port: int, password: str) -> int:
    """Close every ordinary client connection of the Redis server but this one."""
    with Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5) as client:
        return int(client.client_kill_filter(_type="normal", skipme=True))


@dataclass(frozen=True)
class PlannedFault:
    at: float
    target: str
    kind: str
    down: float
    #: A `delay`: the seconds each chunk waits.
    delay: float = 0.0


def plan(
    seed: int,
    lanes: Mapping[str, list[str]],
    start: float,
    end: float,
    *,
    down: tuple[float, float] = (0.3, 1.5),
    gap: tuple[float, float] = (0.5, 2.0),
    kinds: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[PlannedFault]]:
    """The faults of each lane, planned from `start` until `end` (the moments a fault begins).
    A target takes the faults `kinds` names for it, the process faults by default.

    A lane's next fault is planned `gap` after the previous one's down time; as a restart takes
    its own time, a fault starts at its planned moment or when the lane's previous fault has
    ended, whichever is later.
    """
    rng = random.Random(f"{seed}-nemesis")
    planned: dict[str, list[PlannedFault]] = {}
    for lane, targets in lanes.items():
        moment = start + rng.uniform(0, gap[1])
        order: list[str] = []
        faults: list[PlannedFault] = []
        while moment < end:
            if not order:
                order = rng.sample(targets, len(targets))
            target = order.pop(0)
            kind = rng.choice((kinds or {}).get(target, PROCESS_KINDS))
            # A long pause only where it ends before the last fault may start, so it does not
            # stretch the campaign past its operations.
            room = min(LONG_PAUSE[1], end - moment)
            delay = 0.0
            if kind in ("sever", "reset", "crash"):
                outage = 0.0  # the server stays up, or is back at once; its clients reconnect
            elif kind == "delay":
                # Like a long pause, it ends by the last moment a fault may start, where there
                # is room for its shortest; a delay 8 s long stretched the operations phase.
                longest = max(DELAY_FOR[0], min(DELAY_FOR[1], end - moment))
                outage = round(rng.uniform(DELAY_FOR[0], longest), 2)
                delay = round(rng.uniform(*DELAY_EACH), 2)
            elif kind in ("pause", "partition") and room >= LONG_PAUSE[0] and rng.random() < 0.5:
                outage = round(rng.uniform(LONG_PAUSE[0], room), 2)
            else:
                outage = round(rng.uniform(*down), 2)
            faults.append(PlannedFault(round(moment, 2), target, kind, outage, delay))
            moment += outage + rng.uniform(*gap)
        planned[lane] = faults
    return planned


def stop_signal(process: ManagedProcess) -> signal.Signals:
    return signal.SIGINT if process.name == "postgresql" else signal.SIGTERM


def inject(
    process: ManagedProcess,
    kind: str,
    clock: Clock,
    down: float,
    after_start: Callable[[], None] | None = None,
    severer: Severer | None = None,
) -> FaultWindow:
    """Stop the process (`kind`), keep it down for `down` seconds, start it again (and run
    `after_start`, the set-up a fresh server of its kind gets), or for a pause continue it;
    or have it end its clients' connections (`sever`, with its `severer`)."""
    proc = process.proc
    assert proc is not None, f"{process.name} was never started"
    assert proc.poll() is None, f"{process.name} is not running"
    start = clock.now()
    note = ""
    if kind == "sever":
        assert severer is not None, f"{process.name} cannot end its clients' connections"
        ended = severer.end_all()
        return FaultWindow(
            kind, process.name, severer.how, start, start, clock.now(),
            f"{ended} connections ended", ended=ended,
        )  # fmt: skip
    if kind == "pause":
        pause(proc.pid, process.name)
        try:
            clock.hold_until(start + down)
        finally:
            resume(proc.pid)
        resumed = clock.now()
        process.wait_ready()
        return FaultWindow(
            kind, process.name, "SIGSTOP", start, start, clock.now(), resumed=resumed
        )
    if kind == "kill":
        sent = signal.SIGKILL
        signal_tree(proc.pid, signal.SIGKILL)
        proc.wait(timeout=scaled(STOP_GRACE_SECONDS))
    else:
        sent = stop_signal(process)
        proc.send_signal(sent)
        try:
            proc.wait(timeout=scaled(STOP_GRACE_SECONDS))
        except subprocess.TimeoutExpired:
            signal_tree(proc.pid, signal.SIGKILL)
            proc.wait(timeout=scaled(STOP_GRACE_SECONDS))
            note = f"still running {STOP_GRACE_SECONDS:.0f} s after {sent.name}: SIGKILLed"
    # Whatever the group left behind (a service has none; PostgreSQL's backends exit with the
    # postmaster's fast shutdown, or were killed with its tree).
    _kill_group(proc.pid)
    stopped = clock.now()
    clock.hold_until(stopped + down)
    process.start()
    if after_start:
        after_start()
    return FaultWindow(kind, process.name, sent.name, start, stopped, clock.now(), note)


def inject_link(
    links: Links, name: str, kind: str, clock: Clock, down: float, delay: float
) -> FaultWindow:
    """Cut (`partition`) or slow (`delay`) the link `name` for `down` seconds, then heal it; or
    end every connection it carries (`reset`)."""
    start = clock.now()
    if kind == "reset":
        ended = int(links.command("reset", name))
        return FaultWindow(
            kind, name, "every connection reset", start, start, clock.now(),
            f"{ended} connections ended", ended=ended,
        )  # fmt: skip
    if kind == "partition":
        how = "nothing crosses"
        links.command("partition", name)
    else:
        how = f"+{delay:.2f} s a chunk each way"
        links.command("delay", name, f"{delay}")
    try:
        clock.hold_until(start + down)
    finally:
        links.command("heal", name)
    return FaultWindow(kind, name, how, start, start, clock.now())


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc), the process first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def signal_tree(pid: int, sig: signal.Signals) -> list[int]:
    """`sig` to the process, its group and every descendant (listed before the process is
    signalled: a killed parent's children are re-parented and no longer found under it).
    The process first: a stopped or killed parent forks no new child meanwhile."""
    tree = process_tree(pid)
    for target in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    return tree


#: Process trees stopped by a pause and not yet continued: root pid -> (name, stopped pids).
_paused: dict[int, tuple[str, list[int]]] = {}
_paused_lock = threading.Lock()


def pause(pid: int, name: str) -> None:
    """SIGSTOP to the tree (recorded first, so `resume_all` continues it whatever happens)."""
    with _paused_lock:
        _paused[pid] = (name, [pid])
    stopped = signal_tree(pid, signal.SIGSTOP)
    with _paused_lock:
        _paused[pid] = (name, stopped)


def resume(pid: int) -> None:
    """SIGCONT to every process the pause stopped and to the tree as it is now; processes
    that are gone need nothing."""
    with _paused_lock:
        _, stopped = _paused.get(pid, ("", []))
    for target in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGCONT)
    signal_tree(pid, signal.SIGCONT)
    with _paused_lock:
        _paused.pop(pid, None)


def resume_all() -> list[str]:
    """Continue every tree a pause left stopped; the names of those it continued."""
    with _paused_lock:
        stopped = dict(_paused)
    for pid in stopped:
        resume(pid)
    return sorted(name for name, _ in stopped.values())


# A test run that ends any other way (an error, a timeout) leaves no process stopped.
atexit.register(resume_all)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Nemesis:
    """Runs the planned faults of every lane in its own thread, recording into `history`.
    `inject` carries out one fault and returns its window: on the local stack's processes and
    links (`runner.LocalSystem`) or on the testbed's pods (suites/campaign_live)."""

    def __init__(
        self,
        planned: Mapping[str, list[PlannedFault]],
        inject: Callable[[PlannedFault], FaultWindow],
        history: History,
        clock: Clock,
        last_start: float,
    ) -> None:
        self._planned = planned
        self._inject = inject
        #: A lane whose restarts ran late skips the faults it would begin after this moment.
        self._last_start = last_start
        self._history = history
        self._clock = clock
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def start(self) -> None:
        for lane, faults in self._planned.items():
            thread = threading.Thread(target=self._run, args=(faults,), name=f"nemesis-{lane}")
            thread.start()
            self._threads.append(thread)

    def _run(self, faults: list[PlannedFault]) -> None:
        for fault in faults:
            self._clock.hold_until(fault.at)
            if self._clock.now() > self._last_start:
                return
            try:
                window = self._inject(fault)
            except Exception as exc:  # a target that does not come back ends the lane
                self.errors.append(f"{fault}: {type(exc).__name__}: {exc}")
                return
            # list.append is atomic: the lanes and the operations share the history safely.
            self._history.faults.append(window)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
