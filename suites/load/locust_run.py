"""Run one scenario of scenarios/ headless as a subprocess and read its figures back.

Locust stays out of the pytest process: it monkey-patches the standard library with gevent.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubepromises.waiting import NotYet, eventually
from suites import promises

REPORTS = promises.REPO_ROOT / "reports" / "load"
#: Past --run-time: spawning, --stop-timeout for users finishing their task, writing reports.
OVERHEAD_SECONDS = 90
#: What locust logs once its users are started (and its SIGTERM handler is installed), and how
#: long a background load may take to get there (interpreter, gevent and the scenario imported).
STARTED = "All users spawned"
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Load:
    """How hard and how long: locust's -u, -r and --run-time."""

    users: int
    spawn_rate: float
    seconds: int


@dataclass(frozen=True)
class Row:
    """One request name's figures, or the Aggregated total (as a line of *_stats.csv)."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Result:
    scenario: str
    load: Load
    exit_code: int
    output: str
    rows: list[Row]
    failures: list[str]
    html: Path

    @property
    def total(self) -> Row:
        aggregated = [r for r in self.rows if r.name == "Aggregated"]
        assert aggregated, f"locust wrote no statistics; its output:\n{self.output}"
        return aggregated[0]

    def requests_named(self, method: str, name: str) -> int:
        return sum(r.requests for r in self.rows if (r.method, r.name) == (method, name))

    def figures(self) -> dict[str, float]:
        """What the docs report: throughput, latency percentiles, failures."""
        total = self.total
        return {
            "users": self.load.users,
            "seconds": self.load.seconds,
            "requests": total.requests,
            "failures": total.failures,
            "rps": round(total.rps, 1),
            "p50_ms": total.p50_ms,
            "p95_ms": total.p95_ms,
            "p99_ms": total.p99_ms,
        }

    def __str__(self) -> str:
        f = self.figures()
        return (
            f"{self.scenario}: {f['users']} users for {f['seconds']} s: {f['requests']} requests, "
            f"{f['rps']} req/s, p50 {f['p50_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms, "
            f"p99 {f['p99_ms']:.0f} ms, {f['failures']} failed"
        )


def run_scenario(
    scenario: str, host: str, load: Load, *, reports: Path = REPORTS, tag: str = ""
) -> Result:
    """`python -m locust -f scenarios/<scenario>.py --headless ...`, HTML and CSV in `reports`."""
    reports.mkdir(parents=True, exist_ok=True)
    prefix = reports / f"{scenario}{tag}"
    html = prefix.with_name(f"{prefix.name}.html")
    argv = [
        sys.executable, "-m", "locust",
        "-f", f"scenarios/{scenario}.py",
        "--headless", "--host", host,
        "--users", str(load.users), "--spawn-rate", str(load.spawn_rate),
        "--run-time", f"{load.seconds}s", "--stop-timeout", "10",
        "--csv", str(prefix), "--html", str(html), "--json-file", str(prefix),
        "--only-summary", "--loglevel", "INFO",
    ]  # fmt: skip
    completed = subprocess.run(
        argv,
        cwd=promises.REPO_ROOT,
        check=False,
        timeout=load.seconds + OVERHEAD_SECONDS,
        capture_output=True,
        text=True,
    )
    output = completed.stdout + completed.stderr
    prefix.with_name(f"{prefix.name}.log").write_text(output)
    return Result(
        scenario=scenario,
        load=load,
        exit_code=completed.returncode,
        output=output[-6000:],
        rows=_stats(prefix.with_name(f"{prefix.name}.json")),
        failures=_failures(prefix.with_name(f"{prefix.name}_failures.csv")),
        html=html,
    )


def _percentile(response_times: Counter[int], fraction: float) -> float:
    """The smallest recorded time (ms) that `fraction` of the requests did not exceed."""
    wanted = fraction * sum(response_times.values())
    seen = 0
    for milliseconds in sorted(response_times):
        seen += response_times[milliseconds]
        if seen >= wanted:
            return float(milliseconds)
    return 0.0


def _row(method: str, name: str, entries: list[dict[str, Any]]) -> Row:
    times: Counter[int] = Counter()
    for entry in entries:
        times.update({int(ms): n for ms, n in entry["response_times"].items()})
    requests = sum(e["num_requests"] for e in entries)
    duration = max(e["last_request_timestamp"] or 0 for e in entries) - min(
        e["start_time"] for e in entries
    )
    return Row(
        method=method,
        name=name,
        requests=requests,
        failures=sum(e["num_failures"] for e in entries),
        rps=requests / duration if duration > 0 else 0.0,
        p50_ms=_percentile(times, 0.50),
        p95_ms=_percentile(times, 0.95),
        p99_ms=_percentile(times, 0.99),
    )


def _stats(path: Path) -> list[Row]:
    """Per request name and Aggregated, from --json-file: written after the users stopped (the
    *_stats.csv is rewritten once a second only and can miss the last requests)."""
    if not path.exists():  # locust did not get as far as its reports
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    if not entries:
        return []
    rows = [_row(e["method"], e["name"], [e]) for e in entries]
    return [*rows, _row("", "Aggregated", entries)]


def _failures(path: Path) -> list[str]:
    """Each distinct failure as `N x METHOD name: error`."""
    if not path.exists():
        return []
    with path.open(newline="") as failures:
        return [
            f"{line['Occurrences']} x {line['Method']} {line['Name']}: {line['Error']}"
            for line in csv.DictReader(failures)
        ]


class Background:
    """A scenario running for as long as a `with` block: the same scenarios as `tox -e load`,
    as background load while a resilience test breaks something.

    Stopped with SIGTERM, on which locust shuts its users down and writes its reports. The
    `with` block begins once locust has started its users: its SIGTERM handler is in place only
    then, and a SIGTERM before it ended locust with no report at all (a test that took a second,
    6 Dec 2026: "locust wrote no statistics; its output:" and nothing).
    """

    def __init__(self, scenario: str, host: str, users: int, *, tag: str, reports: Path = REPORTS):
        self.scenario = scenario
        self.load = Load(users=users, spawn_rate=users, seconds=0)
        self.prefix = reports / f"{scenario}{tag}"
        self.log = self.prefix.with_name(f"{self.prefix.name}.log")
        self.argv = [
            sys.executable, "-m", "locust",
            "-f", f"scenarios/{scenario}.py",
            "--headless", "--host", host,
            "--users", str(users), "--spawn-rate", str(users), "--stop-timeout", "5",
            "--csv", str(self.prefix), "--html", f"{self.prefix}.html",
            "--json-file", str(self.prefix), "--only-summary",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.result: Result | None = None

    def __enter__(self) -> Background:
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=promises.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            eventually(
                self._started,
                timeout=STARTUP_SECONDS,
                interval=0.2,
                what=f"locust's {self.scenario} users started",
                hint=f"its output: {self.log}",
            )
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        return self

    def _started(self) -> None:
        assert self.process is not None
        output = self.log.read_text(errors="replace")
        exit_code = self.process.poll()
        assert exit_code is None, f"locust ended ({exit_code}) before its users started:\n{output}"
        if STARTED not in output:
            raise NotYet(output[-300:] or "no output yet")

    def __exit__(self, *_: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=OVERHEAD_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        output = self.log.read_text(errors="replace")
        self.result = Result(
            scenario=self.scenario,
            load=self.load,
            exit_code=self.process.returncode,
            output=output[-6000:],
            rows=_stats(self.prefix.with_name(f"{self.prefix.name}.json")),
            failures=_failures(self.prefix.with_name(f"{self.prefix.name}_failures.csv")),
            html=Path(f"{self.prefix}.html"),
        )
