"""The bring-up's phases, each announced and timed on the terminal, and recorded for the next run.

Each phase prints one line when it starts (with what the previous run's record says is left)
and one when it ends (its duration and the bring-up's elapsed time); the durations are written
to a JSON file (`reports/bring-up.json`), which the next run reads for its estimate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from testbed.shell import progress


def read_record(path: Path) -> dict[str, float]:
    """Phase → seconds from an earlier run's record; none when it is missing or unreadable."""
    try:
        phases = json.loads(path.read_text())["phases"]
        return {str(p["name"]): float(p["seconds"]) for p in phases}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


class Phases:
    """Times the phases of one bring-up; `phase(name)` wraps each."""

    def __init__(
        self,
        record: Path,
        *,
        say: Callable[[str], None] = progress,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.record = record
        self.previous = read_record(record)
        self.say = say
        self.clock = clock
        self.started = clock()
        self.durations: dict[str, float] = {}

    def left_by_previous(self, name: str) -> float | None:
        """Seconds the previous run spent from phase `name` on, or None without a record of it."""
        names = list(self.previous)
        if name not in names:
            return None
        return sum(self.previous[n] for n in names[names.index(name) :])

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        left = self.left_by_previous(name)
        hint = (
            f" (the last run: {self.previous[name]:.0f} s, {left:.0f} s to the end)" if left else ""
        )
        self.say(f"bring-up: {name}{hint}")
        began = self.clock()
        yield
        took = self.clock() - began
        self.durations[name] = took
        self.say(f"bring-up: {name} done in {took:.0f} s ({self.clock() - self.started:.0f} s in)")

    def save(self) -> None:
        """Write this run's durations (the next run's estimate)."""
        self.record.parent.mkdir(parents=True, exist_ok=True)
        phases = [{"name": name, "seconds": round(s, 1)} for name, s in self.durations.items()]
        total = round(self.clock() - self.started, 1)
        self.record.write_text(json.dumps({"phases": phases, "total_seconds": total}, indent=2))
