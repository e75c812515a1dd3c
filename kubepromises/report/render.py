"""The promise matrix as HTML (the report's first section), as JSON (for CI) and as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Final

from kubepromises.report.status import Claim, FigureValue, PromiseResult, Result, tally
from kubepromises.verdicts import MARKS

FAILED_NAMES_SHOWN: Final = 5


def css_class(verdict: str) -> str:
    """`verdict-partly-verified` for "partly verified"."""
    return "verdict-" + verdict.replace(" ", "-")


#: Cell backgrounds per verdict; the browser test looks for these colours in a screenshot.
BACKGROUNDS: Final[dict[str, str]] = {
    "passed": "#d4f2dc",
    "failed": "#fbd3d0",
    "partly verified": "#fff1c2",
    "not verified": "#e4e6eb",
}
STYLE: Final = (
    """
<style>
#promise-matrix { margin: 0 0 1.5em 0; color: #1f2328; }
#promise-matrix table { border-collapse: collapse; width: 100%; table-layout: fixed; }
#promise-matrix th, #promise-matrix td {
  border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left;
  font-size: 13px; overflow-wrap: anywhere; }
#promise-matrix ul { margin: 0; padding-left: 1.1em; }
#promise-matrix code { font-size: 12px; }
#promise-matrix .verdict { font-weight: bold; }
#promise-matrix .verdict-passed { color: #1a7f37; }
#promise-matrix .verdict-failed { color: #b42318; }
#promise-matrix .verdict-partly-verified { color: #7d5700; }
#promise-matrix .verdict-not-verified { color: #57606a; }
#promise-matrix .stale { color: #888; font-style: italic; }
#promise-matrix .over-threshold { color: #b42318; font-weight: bold; }
#promise-matrix small { color: #57606a; }
"""
    + "".join(
        f"#promise-matrix td.{css_class(v)} {{ background: {c}; }}\n"
        for v, c in BACKGROUNDS.items()
    )
    + "</style>\n"
)


def counts_line(matrix: Sequence[PromiseResult]) -> str:
    """`1 failed, 2 not verified, 3 partly verified, 4 passed`."""
    return ", ".join(f"{n} {verdict}" for verdict, n in tally(matrix).items())


def claim_text(claim: Claim) -> str:
    """`4 passed, 1 failed: test_x[a]` or `not run`."""
    if not claim.results:
        return "not run in this session"
    text = ", ".join(f"{n} {outcome}" for outcome, n in sorted(claim.counts().items()))
    if claim.partial:
        text += "; the rest was outside this run's arguments (not run)"
    failed = [r.nodeid.split("::", 1)[-1] for r in claim.results if r.outcome == "failed"]
    if failed:
        more = (
            f" and {len(failed) - FAILED_NAMES_SHOWN} more"
            if len(failed) > FAILED_NAMES_SHOWN
            else ""
        )
        text += ": " + ", ".join(failed[:FAILED_NAMES_SHOWN]) + more
    return text


def figure_text(figure: FigureValue) -> str:
    """`frontend: 5.1 s (goal ≤ 10 s)`, `… 12 s > 10 s: over its threshold`, or the bare
    value for a figure without instances."""
    text = f"{figure.instance}: {figure.text}" if figure.instance else figure.text
    if figure.violation is not None:
        return f"{text} ({figure.violation}: over its threshold)"
    return f"{text} (goal {figure.goal})" if figure.goal else text


def against(claim: Claim) -> str:
    """What the claim's tests talked to: a fake they name, or what the promises file says of
    them (its `verified_against`)."""
    if claim.fakes:
        return "a fake " + ", ".join(claim.fakes) + " (verifies nothing)"
    return claim.against


def against_lines(result: PromiseResult) -> list[str]:
    """Each distinct "verified against" of the promise's claims, once."""
    return list(dict.fromkeys(against(claim) for claim in result.claims))


def html_claim(claim: Claim) -> str:
    verdict = claim.verdict
    return (
        f'<li class="claim {css_class(verdict)}" data-verdict="{escape(verdict)}">'
        f"{MARKS[verdict]} <code>{escape(claim.prefix)}</code> "
        f"<small>{escape(claim_text(claim))}</small></li>"
    )


def html_figures(figures: Sequence[FigureValue]) -> str:
    if not figures:
        return "<small>—</small>"
    items = []
    for label in dict.fromkeys(f.label for f in figures):
        values = [f for f in figures if f.label == label]
        parts = [
            f'<li class="{"fresh" if f.fresh else "stale"}'
            f'{" over-threshold" if f.fails else ""}">{escape(figure_text(f))}'
            f"{'' if f.fresh else ' (earlier run)'}</li>"
            for f in values
        ]
        items.append(f"<li>{escape(label)}<ul>{''.join(parts)}</ul></li>")
    return f"<ul class='figures'>{''.join(items)}</ul>"


def html_row(result: PromiseResult) -> str:
    promise, verdict = result.promise, result.verdict
    return (
        f'<tr class="promise" data-promise="{escape(promise.key)}">'
        f"<td><b>{escape(promise.title)}</b><br><small>{escape(promise.drawing)}</small></td>"
        f"<td><small>{escape(promise.source)}</small></td>"
        f'<td class="verdict {css_class(verdict)}" data-verdict="{escape(verdict)}">'
        f"{MARKS[verdict]} {escape(verdict)}</td>"
        f"<td><ul>{''.join(html_claim(c) for c in result.claims)}</ul></td>"
        f'<td class="against"><ul>'
        f"{''.join(f'<li><small>{escape(line)}</small></li>' for line in against_lines(result))}"
        f"</ul></td>"
        f"<td>{html_figures(result.figures)}</td></tr>"
    )


def html(matrix: Sequence[PromiseResult]) -> str:
    """The matrix as a self-contained HTML section (inline style, no script)."""
    rows = "".join(html_row(r) for r in matrix)
    return (
        f'{STYLE}<section id="promise-matrix"><h2>Promise matrix</h2>'
        f'<p class="matrix-counts"><b>{escape(counts_line(matrix))}</b> '
        "<small>(passed: every claimed test ran and passed in this session; partly verified: "
        "some passed, the rest were skipped, deselected or not run; not verified: none ran; a "
        "test against a fake verifies nothing; failed: a test failed or a figure this session "
        "measured is over its threshold; figures marked “earlier run” were not measured by "
        "this session)</small></p>"
        "<table><colgroup><col style='width:14%'><col style='width:7%'><col style='width:9%'>"
        "<col style='width:36%'><col style='width:16%'><col style='width:18%'></colgroup>"
        "<thead><tr><th>promise</th><th>from</th><th>verdict</th><th>tests</th>"
        "<th>verified against</th>"
        f"<th>measured</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def result_entry(result: Result) -> dict[str, str]:
    """One test in promises.json: its outcome, the fake it talked to, its id by module name."""
    entry = {"outcome": result.outcome, "fake": result.fake}
    if result.module:
        entry["module"] = result.module
    return entry


def as_json(
    matrix: Sequence[PromiseResult],
    results: Iterable[Result] = (),
    measurements: Mapping[str, object] | None = None,
    fresh: Iterable[str] = (),
) -> dict[str, object]:
    """The matrix for CI to gate on (reports/<env>/promises.json), with every test's outcome
    and the figures this session saw, so that several runs can be merged into one matrix
    (a project's own merge of its runs)."""
    return {
        "counts": tally(matrix),
        "promises": [
            {
                "key": r.promise.key,
                "title": r.promise.title,
                "source": r.promise.source,
                "drawing": r.promise.drawing,
                "verdict": r.verdict,
                "verify_in": list(r.promise.verify_in),
                "verified_against": against_lines(r),
                "claims": [
                    {
                        "prefix": c.prefix,
                        "verdict": c.verdict,
                        "tests": {t.nodeid: t.label for t in c.results},
                    }
                    for c in r.claims
                ],
                "figures": [
                    {
                        "label": f.label,
                        "key": f.key,
                        "value": f.text,
                        "fresh": f.fresh,
                        "goal": f.goal,
                        "violation": f.violation,
                    }
                    for f in r.figures
                ],
            }
            for r in matrix
        ],
        "tests": {t.nodeid: result_entry(t) for t in results},
        "measurements": dict(measurements or {}),
        "fresh": sorted(fresh),
    }


def text(matrix: Sequence[PromiseResult]) -> list[str]:
    """A few lines for the terminal: the counts, each failed promise, then the others by verdict."""
    lines = [f"promise matrix: {counts_line(matrix)}"]
    for result in matrix:
        if result.verdict == "failed":
            failing = [
                f"{c.prefix}: {claim_text(c)}" for c in result.claims if c.verdict == "failed"
            ]
            failing += [f"{f.key}: {f.violation}" for f in result.figures if f.fails]
            detail = "; ".join(failing)
            lines.append(f"  {MARKS['failed']} failed: {result.promise.key} ({detail})")
    for verdict in ("not verified", "partly verified", "passed"):
        keys = [r.promise.key for r in matrix if r.verdict == verdict]
        if keys:
            lines.append(f"  {MARKS[verdict]} {verdict}: {', '.join(keys)}")
    return lines
