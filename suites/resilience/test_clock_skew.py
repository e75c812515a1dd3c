"""Clock skew of one service pod (issue 17, item 6): not verified on this machine, and said so.

A pod's processes read the wall clock (CLOCK_REALTIME: Python's `time.time()`, PostgreSQL's
`now()` is the database's own), and every container on a node shares the kernel's one wall
clock. Linux's time namespaces offset only CLOCK_MONOTONIC and CLOCK_BOOTTIME
(time_namespaces(7)), so no namespace can move one pod's wall clock; setting the clock moves the
whole machine's (every node and the host with it). Tools that do it per container (Chaos Mesh's
TimeChaos) rewrite the process's vDSO through ptrace so that `clock_gettime` returns an offset:
nothing of the kind is built here, and an LD_PRELOAD faker would change the services'
configuration, which issue 17 rules out. So the test is skipped with that reason: the report
shows it "not verified", never passed.
"""

from __future__ import annotations

import pytest

from testbed import faults

pytestmark = pytest.mark.cluster

TIME_NS = "CONFIG_TIME_NS"


def clock_skew_not_verified() -> str:
    """The reason, with this kernel's time-namespace line."""
    line = faults.kernel_config_line(TIME_NS, faults.read_kernel_config()) or (
        f"{TIME_NS} not found (no /proc/config.gz)"
    )
    return (
        f"not verified on this machine: containers share the kernel's CLOCK_REALTIME, and time "
        f"namespaces ({line}) offset only CLOCK_MONOTONIC and CLOCK_BOOTTIME; no per-process "
        "clock injector (ptrace/vDSO, as Chaos Mesh's TimeChaos) is built (issue 17, item 6)"
    )


@pytest.mark.skip(reason=clock_skew_not_verified())
def test_a_service_pod_five_minutes_ahead_loses_and_duplicates_no_notification() -> None:
    """Issue 17, item 6: one service pod's clock +5 min; no duplicate or lost notification, no
    order rejected for time reasons. Skipped: see the module's docstring."""
