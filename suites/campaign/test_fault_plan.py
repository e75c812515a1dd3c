"""The nemesis' schedule (nemesis.plan): every target of a lane is hit once before any twice, the
kinds a target takes are the only ones it gets, and a fault that lasts (a long pause or
partition, a slowed link) ends by the last moment a fault may start, so the operations phase
is not stretched by the schedule itself."""

from __future__ import annotations

from collections import Counter

import pytest

from . import nemesis
from .nemesis import PlannedFault

LANES = {"services": ["gateway", "orders", "inventory"], "links": ["a->b", "b->c"]}
KINDS = {"a->b": nemesis.LINK_KINDS, "b->c": nemesis.LINK_KINDS}
START, END = 1.0, 120.0


def overruns(faults: list[PlannedFault], end: float) -> list[PlannedFault]:
    """The faults planned to last past `end` though one of their kind's shortest would fit."""
    shortest = {"delay": nemesis.DELAY_FOR[0], "pause": nemesis.LONG_PAUSE[0]}
    return [
        f
        for f in faults
        if f.at + f.down > end + 0.01 and end - f.at >= shortest.get(f.kind, float("inf"))
    ]


@pytest.mark.parametrize("seed", [1, 2, 3, 808519])
def test_a_plan_visits_every_target_before_any_twice_and_ends_in_time(seed: int) -> None:
    planned = nemesis.plan(seed, LANES, START, END, kinds=KINDS)

    for lane, targets in LANES.items():
        faults = planned[lane]
        first_round = [f.target for f in faults[: len(targets)]]
        assert sorted(first_round) == sorted(targets), first_round
        counts = Counter(f.target for f in faults)
        assert max(counts.values()) - min(counts.values()) <= 1, counts
        assert all(f.at < END for f in faults)
        assert overruns(faults, END) == []
    assert {f.kind for f in planned["links"]} <= set(nemesis.LINK_KINDS)
    assert {f.kind for f in planned["services"]} <= set(nemesis.PROCESS_KINDS)
    assert all(f.down == 0 for f in planned["links"] if f.kind == "reset")


def test_a_plan_is_the_same_for_the_same_seed() -> None:
    assert nemesis.plan(7, LANES, START, END, kinds=KINDS) == nemesis.plan(
        7, LANES, START, END, kinds=KINDS
    )


def test_negative_control_a_slowed_link_planned_past_the_end_is_found() -> None:
    late = PlannedFault(at=END - 3.0, target="a->b", kind="delay", down=8.0, delay=0.2)
    fits = PlannedFault(at=END - 3.0, target="a->b", kind="delay", down=3.0, delay=0.2)
    no_room = PlannedFault(at=END - 0.5, target="a->b", kind="delay", down=1.0, delay=0.2)

    assert overruns([late, fits, no_room], END) == [late]


def test_a_crash_takes_no_down_time_of_its_own_and_comes_only_where_it_is_named() -> None:
    # a crashed server is back at once (its recovery is the fault's window), as a sever's is
    lanes = {"dependencies": ["order-db", "cache"]}
    kinds = {"order-db": (*nemesis.SEVERABLE_KINDS, "crash")}
    planned = nemesis.plan(5, lanes, START, END, kinds=kinds)["dependencies"]

    crashes = [f for f in planned if f.kind == "crash"]
    assert crashes, "no crash planned in 120 s: the kind is not drawn"
    assert all(f.target == "order-db" and f.down == 0 for f in crashes)
    assert {f.kind for f in planned if f.target == "cache"} <= set(nemesis.PROCESS_KINDS)
