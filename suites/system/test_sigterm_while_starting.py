"""Promise: a service told to stop while it is still starting stops at once, even as PID 1.

In a pod the service is PID 1, and the kernel drops a signal PID 1 has no handler for. The test
runs each service as PID 1 of a new PID namespace (`unshare`, as a container runtime would), sends
SIGTERM the moment the process has a handler for it, and expects the exit code of the service's
own early handler (system/common/sigterm.py). Without that handler the first one is uvicorn's,
which re-raises the signal after its shutdown into the default action, which PID 1 drops: the
process then ends with 0, and a SIGTERM sent any earlier would have been ignored altogether.
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from suites.system.servers import free_port
from suites.waiting import eventually, scaled
from system.common.sigterm import EXIT_CODE
from testbed.settings import SERVICES

# The packages the images run (SERVICE=... in testbed/images.py).
PACKAGES = [service.replace("-", "_") for service in SERVICES]
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child"]


def _unshare_works() -> str | None:
    """Why a new PID namespace cannot be made here, or None if it can."""
    if shutil.which("unshare") is None:
        return "`unshare` (util-linux) is not installed"
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"`unshare --pid` is not permitted here: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def pid_namespaces() -> None:
    reason = _unshare_works()
    if reason:
        pytest.skip(f"not verified: {reason} (it needs root or user namespaces)")


def _pid_1_of(unshare: subprocess.Popen[bytes]) -> int:
    """The host pid of the process `unshare --fork` started (PID 1 in its namespace)."""

    def child() -> int:
        """The child's pid, or 0 while unshare has not forked yet."""
        children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()
        return int(children[0]) if children else 0

    return eventually(child, timeout=scaled(10), interval=0.001, what="the namespace's PID 1")


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (the SigCgt mask of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    raise AssertionError(f"/proc/{pid}/status has no SigCgt line")


@pytest.mark.usefixtures("pid_namespaces")
@pytest.mark.parametrize("package", PACKAGES)
def test_sigterm_while_starting_stops_a_service_running_as_pid_1(
    package: str, tmp_path: Path
) -> None:
    # arrange: the service as PID 1 of its own PID namespace; its dependencies are never reached
    env = {**os.environ, "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(free_port())}
    log_path = tmp_path / f"{package}.log"
    argv = [*UNSHARE, sys.executable, "-m", f"system.{package}"]
    with log_path.open("wb") as log:
        unshare = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        pid_1 = _pid_1_of(unshare)

        # act: SIGTERM as soon as the process handles it at all
        eventually(
            lambda: _catches_sigterm(pid_1),
            timeout=scaled(30),
            interval=0.001,
            what=f"{package} (PID 1) to handle SIGTERM",
        )
        os.kill(pid_1, signal.SIGTERM)

        # assert: it ended, through the service's own early handler
        try:
            exit_code: int | None = unshare.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            exit_code = None  # still running: PID 1 dropped the signal
    finally:
        unshare.kill()
        unshare.wait()
    output = log_path.read_text(errors="replace")[-2000:]
    assert exit_code == EXIT_CODE, f"{package} ended with {exit_code}; its output:\n{output}"
