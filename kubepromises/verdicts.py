"""The four verdicts a promise can have, and the mark each is shown with."""

from __future__ import annotations

from typing import Final

MARKS: Final[dict[str, str]] = {
    "passed": "✔",
    "failed": "✘",
    "partly verified": "◐",
    "not verified": "○",
}
