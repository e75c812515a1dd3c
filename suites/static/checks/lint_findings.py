"""A maintained linter's findings: each one fixed, or an accepted deviation with its reason.

The accepted deviations are data, in one file (manifests/lint-accepted.yaml): each entry names a
kube-score check, the objects (`Kind/name`) it may fail on, the overlays where it may (all when
left out) and why. A finding no entry covers is a violation; so is an entry's object on which
the check no longer fails in any of its overlays (a stale acceptance hides the next regression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from suites import promises
from suites.static.kube_score import Finding
from testbed.settings import REPO

ACCEPTED_FILE = REPO / "manifests" / "lint-accepted.yaml"
_FIELDS = {"check", "objects", "overlays", "reason"}


@dataclass(frozen=True)
class Accepted:
    """One check accepted on one object, in some overlays (None: in all)."""

    check: str
    object: str
    overlays: frozenset[str] | None
    reason: str

    def covers(self, overlay: str, finding: Finding) -> bool:
        return finding.key == (self.check, self.object) and (
            self.overlays is None or overlay in self.overlays
        )


def _where(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def load_accepted(path: Path = ACCEPTED_FILE) -> list[Accepted]:
    """The accepted deviations, or ValueError naming the entry and field that is wrong."""
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{_where(path)}: needs a list `accepted`")
    found: list[Accepted] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        where = f"{_where(path)}: accepted[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not a mapping")
        if unknown := set(entry) - _FIELDS:
            raise ValueError(f"{where} has unknown fields {sorted(unknown)}")
        check, objects, reason = entry.get("check"), entry.get("objects"), entry.get("reason")
        overlays = entry.get("overlays")
        if not isinstance(check, str) or not check:
            raise ValueError(f"{where} needs `check`: a kube-score check id")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{where} ({check}) needs `reason`: why the deviation is accepted")
        if not isinstance(objects, list) or not objects:
            raise ValueError(f"{where} ({check}) needs `objects`: a list of Kind/name")
        if overlays is not None and (
            not isinstance(overlays, list) or not set(overlays) <= set(promises.OVERLAYS)
        ):
            raise ValueError(
                f"{where} ({check}) `overlays` must list overlays of the drawing "
                f"({', '.join(sorted(promises.OVERLAYS))}), got {overlays!r}"
            )
        for obj in objects:
            if not isinstance(obj, str) or obj.count("/") != 1:
                raise ValueError(f"{where} ({check}) object {obj!r} is not Kind/name")
            if (check, obj) in seen:
                raise ValueError(f"{where} accepts {check} on {obj} a second time")
            seen.add((check, obj))
            found.append(
                Accepted(check, obj, frozenset(overlays) if overlays is not None else None, reason)
            )
    return found


def unaccepted_violations(
    overlay: str, findings: Sequence[Finding], accepted: Sequence[Accepted]
) -> list[str]:
    """Each finding in `overlay` that no accepted deviation covers, and how to accept it."""
    return [
        f"kube-score's check {finding.check} fails on {finding.object} in the {overlay} "
        f"overlay: {'; '.join(finding.summaries) or 'no details'}. Fix the manifests, or accept "
        f"it in {_where(ACCEPTED_FILE)} with an entry `check: {finding.check}`, "
        f"`objects: [{finding.object}]` (`overlays: [{overlay}]` if it is this overlay's "
        "alone) and its `reason`"
        for finding in findings
        if not any(entry.covers(overlay, finding) for entry in accepted)
    ]


def stale_violations(
    findings: Mapping[str, Sequence[Finding]], accepted: Sequence[Accepted]
) -> list[str]:
    """Each accepted deviation that no longer occurs in any of its overlays (all rendered)."""
    violations = []
    for entry in accepted:
        overlays = sorted(entry.overlays if entry.overlays is not None else findings)
        if not any(entry.covers(overlay, f) for overlay in overlays for f in findings[overlay]):
            violations.append(
                f"{_where(ACCEPTED_FILE)} accepts {entry.check} on {entry.object}, but "
                f"kube-score no longer finds it in the {' or '.join(overlays)} overlay: take "
                "the object out of that entry"
            )
    return violations
