"""How often one trial of the unsafe configuration is caught: the measurement behind a promise's
`power` in promises.yaml (kubepromises.drawing.Power).

A positive fault test that passes once says little if one trial of its fault would also have
passed on a system without the safeguards. So its negative control's configuration is put
through single trials of the fault, each checked as the test checks it, and the trials that
caught it are counted. From `caught` of `of`, Power gives how many trials in a row the positive
test needs to catch such a system with 95 % chance.

Trials (the suites' own code, so the benchmark measures exactly what the tests do):
- `rollout`: one rollout of a new version under 55 req/s (suites/resilience/test_rolling_update),
  on an api-gateway without its preStop sleep, readiness and startup probes
  (suites/resilience/live.make_unsafe); caught: a failed request;
- `scaling`: one 2 -> 4 -> 2 cycle under 40 req/s (suites/conformance/test_scaling), on the
  same gateway; caught: a failed request;
- `crash`: one crash of order-db's server under orders (suites/resilience/test_database_loss),
  on an order-db with `synchronous_commit = off`; caught: an acknowledged order lost or changed.

Needs a running testbed (`python -m testbed up`); the autoscalers are suspended, and api-gateway's
Deployment and order-db's setting restored afterwards, as in the suites.

Run: python -m benchmarks.power [--trials 10] [--kind rollout] [--kind scaling] [--kind crash]
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date

from kubepromises.drawing import Power
from suites import promises
from suites.conformance.test_scaling import scale_out_and_back
from suites.resilience import invariants
from suites.resilience import test_database_loss as database_loss
from suites.resilience.live import deployment_restored, make_unsafe
from suites.resilience.test_rolling_update import rollout_under_traffic
from testbed import traffic
from testbed.cluster import Testbed
from testbed.kube import AutoscalersSuspended, Kube
from testbed.settings import Settings
from testbed.traffic import TrafficProbe, order_target

UNSAFE = "api-gateway"
#: The gateway through its NodePort, as the suites reach it (conftest.py's `gateway_url`).
GATEWAY_URL = f"http://127.0.0.1:{promises.API_NODE_PORT.node_port}"


def _rollout(bed: Testbed, kube: Kube) -> tuple[bool, str]:
    version = f"power-{uuid.uuid4().hex[:8]}"
    summary = rollout_under_traffic(kube, GATEWAY_URL, {UNSAFE: version}).summary()
    return bool(summary.failures), f"{len(summary.failures)} failed: {summary}"


def _scaling(bed: Testbed, kube: Kube) -> tuple[bool, str]:
    summary = scale_out_and_back(kube, GATEWAY_URL, UNSAFE)[1]
    return bool(summary.failures), f"{len(summary.failures)} failed: {summary}"


def _crash(bed: Testbed, kube: Kube) -> tuple[bool, str]:
    since = invariants.database_now(bed, kube)
    mark = len(traffic.ACKNOWLEDGED)
    order = order_target(database_loss.ORDER_SKU)
    with TrafficProbe(GATEWAY_URL, (order,), rate=database_loss.RATE, workers=4) as probe:
        database_loss.crash_under_orders(kube, probe)
    acknowledged = traffic.disown(mark)
    lost = invariants.check(bed, kube, since, dict(acknowledged)).lost_acknowledged
    return bool(lost), f"{len(lost)} of {len(acknowledged)} acknowledged lost: {lost}"


@contextmanager
def _unsafe_gateway(bed: Testbed, kube: Kube) -> Iterator[None]:
    with deployment_restored(kube, UNSAFE):
        make_unsafe(kube, UNSAFE)
        yield


#: The trial kinds: what one trial is (promises.yaml's `trial`), the unsafe configuration it
#: runs on, and one trial (caught or not, and what it saw).
TRIALS: dict[
    str,
    tuple[
        str,
        Callable[[Testbed, Kube], AbstractContextManager[None]],
        Callable[[Testbed, Kube], tuple[bool, str]],
    ],
] = {
    "rollout": ("rollout", _unsafe_gateway, _rollout),
    "scaling": ("2→4→2 scaling cycle", _unsafe_gateway, _scaling),
    "crash": (
        "order-db crash",
        database_loss.commits_acknowledged_before_written,
        _crash,
    ),
}


def measure(bed: Testbed, kube: Kube, kind: str, trials: int) -> Power:
    """`trials` single trials of `kind` on its unsafe configuration; how many caught it."""
    name, unsafe, trial = TRIALS[kind]
    caught = 0
    with unsafe(bed, kube):
        for number in range(1, trials + 1):
            seen, said = trial(bed, kube)
            caught += seen
            print(f"{kind} {number}/{trials}: {'caught' if seen else 'missed'}: {said}", flush=True)
    return Power(
        trial=name,
        control="(benchmarks.power)",
        caught=caught,
        of=trials,
        measured=f"the testbed, {date.today():%-d %b %Y}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="single trials per kind")
    parser.add_argument(
        "--kind", action="append", choices=sorted(TRIALS), help="trial kinds (default: all)"
    )
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    bed = Testbed(Settings.from_env())
    bed.attach()
    kube = bed.kube()
    with AutoscalersSuspended(kube):
        results = [measure(bed, kube, kind, args.trials) for kind in args.kind or sorted(TRIALS)]
    for power in results:
        print(f"caught: {power.caught}, of: {power.of} -> {power}")


if __name__ == "__main__":
    main()
