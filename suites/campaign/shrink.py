"""A failing history, shortened to what concerns its anomalies.

Simple and honest: no operation is re-run. The shortened history is the operations that name
an anomaly's evidence (its order ids, keys, tags, SKUs, operation numbers) and the fault
windows around them, and it says how far into the campaign the first of them came, so a
replay (`--campaign-seed`) can stop early. It is a reading aid, not a proven minimal case.
"""

from __future__ import annotations

from collections.abc import Iterable

from .checker import Violation
from .history import History, Operation

#: The most lines of operations printed (the first and last halves when there are more).
MAX_LINES = 60


def involved(history: History, violations: Iterable[Violation]) -> list[Operation]:
    """The operations that name any violation's evidence, in invocation order.

    A SKU is named by every order of it, so for a SKU only the operations with an uncertain
    outcome (no answer, or a 5xx) are taken: a cleanly answered order is accounted for.
    """
    evidence: set[str] = set()
    for violation in violations:
        evidence |= violation.evidence
    found = []
    for op in history.operations:
        names = {op.key, op.tag, op.order_id, f"#{op.index}"}
        if op.resolves is not None:
            names.add(f"#{op.resolves}")
        uncertain = op.outcome != "ok"
        if (
            names & evidence
            or any(e in op.path for e in evidence if len(e) > 8)
            or (uncertain and evidence.intersection(op.skus))
        ):
            found.append(op)
    return sorted(found, key=lambda op: (op.invoked, op.index))


def shortened(history: History, violations: list[Violation]) -> str:
    """The seed, the violations, and the operations and faults they concern."""
    ops = involved(history, violations)
    lines = [
        f"campaign seed {history.seed}: {len(violations)} anomalies in "
        f"{len(history.operations)} operations and {len(history.faults)} faults",
        f"replay: pytest suites/campaign --campaign-seed {history.seed}",
        "",
        *(f"- {v}" for v in violations),
        "",
    ]
    if not ops:
        lines.append("no operation names these anomalies' orders, keys or SKUs")
        return "\n".join(lines)
    first, last = ops[0], ops[-1]
    end = max(op.completed or op.invoked for op in ops)
    lines.append(
        f"{len(ops)} operations concern them (#{first.index} first, at {first.invoked:.2f} s, "
        f"after {first.index} of {len(history.operations)} operations; #{last.index} last):"
    )
    entries = [(op.invoked, op.line()) for op in ops]
    entries += [
        (w.start, w.line()) for w in history.faults if w.start <= end and w.end >= first.invoked - 1
    ]
    entries.sort(key=lambda entry: entry[0])
    printed = [text for _, text in entries]
    if len(printed) > MAX_LINES:
        half = MAX_LINES // 2
        skipped = len(printed) - MAX_LINES
        printed = [*printed[:half], f"   ... {skipped} more ...", *printed[-half:]]
    lines += printed
    return "\n".join(lines)
