"""Diagnostics in a report row: every file shown, escaped, and the whole bounded in size."""

from __future__ import annotations

from pathlib import Path

from suites.reporting import attachments


def diagnostics_folder(root: Path, pods: int, log_lines: int) -> Path:
    (root / "logs").mkdir(parents=True)
    (root / "events.txt").write_text("".join(f"event {i} <pod>\n" for i in range(500)))
    (root / "describe.txt").write_text("Name: api-gateway-1\n" * 3000)
    (root / "nodes.txt").write_text("kind-worker Ready\n")
    for pod in range(pods):
        lines = "".join(f"pod {pod} line {i}\n" for i in range(log_lines))
        (root / "logs" / f"pod-{pod}.log").write_text(lines)
    return root


def test_every_file_is_shown_events_first_with_the_end_of_each_log(tmp_path: Path) -> None:
    folder = diagnostics_folder(tmp_path, pods=2, log_lines=1000)
    excerpts = attachments.excerpts(folder)
    assert [e.name for e in excerpts] == [
        "events.txt",
        "describe.txt",
        "nodes.txt",
        "logs/pod-0.log",
        "logs/pod-1.log",
    ]
    log = excerpts[3]
    assert log.text.splitlines()[-1] == "pod 0 line 999"
    assert len(log.text.splitlines()) == attachments.LOG_LINES
    assert log.dropped_lines == 1000 - attachments.LOG_LINES


def test_the_html_is_escaped_and_bounded_however_many_pods_there_are(tmp_path: Path) -> None:
    folder = diagnostics_folder(tmp_path, pods=80, log_lines=400)
    html = attachments.diagnostics_html(folder)
    assert "event 499 &lt;pod&gt;" in html
    assert "<pod>" not in html
    assert len(html) < attachments.TOTAL_CHARS + 80 * 500  # the text budget plus the markup
    assert html.count("<details") == 83  # every file named, the late ones without content


def test_attaching_adds_to_the_reports_extras(tmp_path: Path) -> None:
    class Report:
        def __init__(self) -> None:
            self.extras = [attachments.html_extra("<p>earlier</p>")]

    report = Report()
    attachments.attach_diagnostics(report, diagnostics_folder(tmp_path, pods=1, log_lines=3))
    assert [e["format_type"] for e in report.extras] == ["html", "html"]
    assert "Cluster diagnostics" in (report.extras[1]["content"] or "")
