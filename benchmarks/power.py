"""How often one trial of the unsafe configuration fails requests: the measurement behind a
promise's `power` in promises.yaml (kubepromises.drawing.Power).

A positive fault test that passes once says little if one trial of its fault would also have
passed on a system without the safeguards. So its negative control's configuration (an
api-gateway without its preStop sleep, readiness and startup probes:
suites/resilience/live.make_unsafe) is put through single trials of the fault, each under the
suites' own traffic probe, and the trials that saw failed requests are counted. From `caught`
of `of`, Power gives how many trials in a row the positive test needs to catch such a system
with 95 % chance.

Trials (the suites' own code, so the benchmark measures exactly what the tests do):
- `rollout`: one rollout of a new version under 55 req/s (suites/resilience/test_rolling_update);
- `scaling`: one 2 -> 4 -> 2 cycle under 40 req/s (suites/conformance/test_scaling).

Needs a running testbed (`python -m testbed up`); the autoscalers are suspended and api-gateway's
Deployment restored afterwards, as in the suites.

Run: python -m benchmarks.power [--trials 10] [--kind rollout] [--kind scaling]
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from datetime import date

from kubepromises.drawing import Power
from suites import promises
from suites.conformance.test_scaling import scale_out_and_back
from suites.resilience.live import deployment_restored, make_unsafe
from suites.resilience.test_rolling_update import rollout_under_traffic
from testbed.cluster import Testbed
from testbed.kube import AutoscalersSuspended, Kube
from testbed.settings import Settings
from testbed.traffic import Summary

UNSAFE = "api-gateway"
#: The gateway through its NodePort, as the suites reach it (conftest.py's `gateway_url`).
GATEWAY_URL = f"http://127.0.0.1:{promises.API_NODE_PORT.node_port}"


def _rollout(kube: Kube) -> Summary:
    version = f"power-{uuid.uuid4().hex[:8]}"
    return rollout_under_traffic(kube, GATEWAY_URL, UNSAFE, version).summary()


def _scaling(kube: Kube) -> Summary:
    return scale_out_and_back(kube, GATEWAY_URL, UNSAFE)[1]


#: The trial kinds: what one trial is (promises.yaml's `trial`) and how it is run.
TRIALS: dict[str, tuple[str, Callable[[Kube], Summary]]] = {
    "rollout": ("rollout", _rollout),
    "scaling": ("2→4→2 scaling cycle", _scaling),
}


def measure(kube: Kube, kind: str, trials: int) -> Power:
    """`trials` single trials of `kind` on the unsafe gateway; how many failed requests."""
    name, trial = TRIALS[kind]
    caught = 0
    for number in range(1, trials + 1):
        summary = trial(kube)
        caught += bool(summary.failures)
        print(f"{kind} {number}/{trials}: {len(summary.failures)} failed: {summary}", flush=True)
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
    results = []
    with AutoscalersSuspended(kube), deployment_restored(kube, UNSAFE):
        make_unsafe(kube, UNSAFE)
        for kind in args.kind or sorted(TRIALS):
            results.append(measure(kube, kind, args.trials))
    for power in results:
        print(f"caught: {power.caught}, of: {power.of} -> {power}")


if __name__ == "__main__":
    main()
