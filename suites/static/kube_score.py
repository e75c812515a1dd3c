"""kube-score, a maintained manifest linter, run on rendered objects (no cluster).

The version is pinned in airgap/versions.env and built from the Go module proxy into the cache
by `airgap/go/build.sh kube-score` (`python -m testbed setup fast` does it, and tox runs that);
testbed.setup.kube_score_binary says where. Its findings are read from its JSON output: one
`Finding` per failed check and object, whatever the check's grade (critical or warning).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from suites import promises
from testbed.settings import Settings
from testbed.setup import kube_score_binary

#: Grades kube-score gives a check (scorecard.Grade): below ALL_OK is a finding.
ALL_OK = 10
LINT_TIMEOUT_SECONDS = 120
PROVIDE = (
    "`python -m testbed setup fast` (tox runs it before the fast suite) or "
    "`airgap/go/build.sh kube-score`, or point DEMO_MICRO_KUBE_SCORE at a kube-score binary"
)


class LinterMissingError(RuntimeError):
    """The pinned kube-score is not where the set-up puts it."""


@dataclass(frozen=True)
class Finding:
    """One check kube-score failed on one object."""

    check: str
    object: str  # Kind/name
    summaries: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.check, self.object)


def binary() -> Path:
    """The pinned kube-score, or LinterMissingError saying how to provide it."""
    settings = Settings.from_env()
    path = kube_score_binary(settings)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    raise LinterMissingError(
        f"the static suite lints the rendered manifests with kube-score "
        f"{settings.airgap['KUBE_SCORE_VERSION']}, and there is no executable at {path}. "
        f"Build it from the Go module proxy with {PROVIDE}."
    )


def kubernetes_minor() -> str:
    """The drawing's release line, vMAJOR.MINOR, for kube-score's --kubernetes-version."""
    major, minor = promises.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    return f"v{major}.{minor}"


def findings_of(report: list[dict[str, Any]]) -> list[Finding]:
    """The failed checks of kube-score's JSON report (`-o json`, its format v2)."""
    found = []
    for scored in report:
        obj = f"{scored['type_meta']['kind']}/{scored['object_meta']['name']}"
        for result in scored["checks"]:
            if result["skipped"] or result["grade"] >= ALL_OK:
                continue
            summaries = tuple(
                f"({comment['path']}) {comment['summary']}"
                if comment.get("path")
                else comment["summary"]
                for comment in result.get("comments") or []
            )
            found.append(Finding(result["check"]["id"], obj, summaries))
    return found


def lint(objects: Sequence[dict[str, Any]], executable: Path) -> list[Finding]:
    """kube-score's findings on these objects, as the pinned version scores them by default.

    Its `kube-score/ignore` annotations are switched off: the accepted deviations live in one
    file (manifests/lint-accepted.yaml), not scattered over the manifests.
    """
    result = subprocess.run(
        [
            str(executable),
            "score",
            "--output-format=json",
            f"--kubernetes-version={kubernetes_minor()}",
            "--disable-ignore-checks-annotations",
            "--disable-optional-checks-annotations",
            "-",
        ],
        input=yaml.safe_dump_all(objects, sort_keys=False),
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_SECONDS,
        check=False,
    )
    # Exit 1 means "found something critical"; anything else, or no JSON, is a failed run.
    try:
        report = json.loads(result.stdout) if result.returncode in (0, 1) else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, list):
        raise RuntimeError(
            f"kube-score failed (exit {result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout[:2000]}"
        )
    return findings_of(report)
