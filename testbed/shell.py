"""Running the CLIs the testbed drives (docker, kind, kubectl, the airgap scripts)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence


class CommandFailed(RuntimeError):
    """A command exited non-zero; the message carries its tail of output."""


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    what: str,
    stdin: bytes | None = None,
    stream: bool = False,
) -> str:
    """Run `cmd`, return its stdout; raise CommandFailed naming `what` and the output's tail.

    With `stream`, output goes straight to the terminal (long builds show their progress).
    """
    started = time.monotonic()
    try:
        if stream:
            done = subprocess.run(cmd, input=stdin, timeout=timeout, check=False)
            out, err = b"", b""
        else:
            done = subprocess.run(
                cmd, input=stdin, timeout=timeout, capture_output=True, check=False
            )
            out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        raise CommandFailed(
            f"{what}: still running after {timeout:.0f} s: {' '.join(cmd)}"
        ) from expired
    except FileNotFoundError as missing:
        raise CommandFailed(f"{what}: {cmd[0]} is not installed") from missing
    if done.returncode != 0:
        tail = "\n".join((out + err).decode(errors="replace").strip().splitlines()[-25:])
        raise CommandFailed(
            f"{what} failed (exit {done.returncode} after {time.monotonic() - started:.0f} s): "
            f"{' '.join(cmd)}\n{tail}"
        )
    return out.decode(errors="replace")


def progress(message: str) -> None:
    """One line of progress on stderr, timestamped, for long steps."""
    print(f"[testbed {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
