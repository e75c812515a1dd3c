"""The one lock of the Python dependencies, `requirements.lock` at the repository's top: every
extra of pyproject.toml at exact versions with their sha256 hashes, which every tox env installs
in pip's hash-checking mode. An image installs only the part it needs, in two steps: its wheels
are downloaded on the host constrained to the lock's versions (`pins`: pip's constraints cannot
carry hashes, as a hash there turns on hash-checking for the requirement asked for too), then
`for_wheels` takes the lock's entries of exactly those wheels, which the image installs with
`pip install --require-hashes`, so each file is checked against the lock where it is installed.

Standard library only: the air-gapped builds run it with the host's python3
(`python3 -m testbed.lock pins|for-wheels DIR`, with the repository on PYTHONPATH).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"

#: One entry once its continuation lines are joined: `name==version [; marker] --hash=... ...`.
ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)\s*(?:;(?P<marker>.*?))?(?P<hashes>(?:\s+--hash=\S+)*)\s*$"
)


class LockError(ValueError):
    """The lock (or what an image asks of it) is not what the builds can install from."""


def canonical(name: str) -> str:
    """A project's name as PyPI compares names (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Locked:
    """One entry of the lock: a project at its exact version, with the hashes of its files."""

    name: str  # canonical
    version: str
    marker: str  # the environment marker, "" when none
    hashes: tuple[str, ...]
    entry: str  # its lines as the lock writes them, comments left out


def read_lock(text: str) -> dict[str, Locked]:
    """The lock's entries by canonical name; a line that is not `name==version ...` stops it."""
    entries: dict[str, Locked] = {}
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    logical: list[list[str]] = []
    for line in lines:
        if logical and logical[-1][-1].rstrip().endswith("\\"):
            logical[-1].append(line)
        else:
            logical.append([line])
    for group in logical:
        joined = " ".join(part.rstrip().removesuffix("\\").strip() for part in group)
        match = ENTRY.match(joined)
        if match is None:
            raise LockError(
                f"requirements.lock: not an exact pin `name==version`: {joined[:120]!r}"
            )
        name = canonical(match["name"])
        hashes = tuple(h.removeprefix("--hash=") for h in match["hashes"].split())
        marker = (match["marker"] or "").strip()
        entries[name] = Locked(name, match["version"], marker, hashes, "\n".join(group))
    return entries


def pins(lock_text: str) -> str:
    """The lock's versions without their hashes, as a constraints file for `pip download`."""
    lines = []
    for locked in read_lock(lock_text).values():
        marker = f" ; {locked.marker}" if locked.marker else ""
        lines.append(f"{locked.name}=={locked.version}{marker}")
    return "\n".join(lines) + "\n"


def wheel_name(wheel: Path) -> str:
    """The canonical project name of a wheel file (`psycopg_binary-3.3.9-cp311-...whl`)."""
    return canonical(wheel.name.split("-", 1)[0])


def for_wheels(lock_text: str, wheels: Path) -> str:
    """The lock's entries of every wheel in `wheels`, as a requirements file for
    `pip install --require-hashes`: a wheel the lock lacks, or at another version, stops it."""
    lock = read_lock(lock_text)
    files = sorted(wheels.glob("*.whl"))
    if not files:
        raise LockError(f"no wheels in {wheels}")
    others = sorted(f.name for f in wheels.iterdir() if f.suffix != ".whl" and f.name[0] != ".")
    if others:
        # A source distribution would be built in the image, with no hash of the lock to check.
        raise LockError(f"not wheels, in {wheels}: {', '.join(others)}")
    chosen: list[str] = []
    for wheel in files:
        name, version = wheel_name(wheel), wheel.name.split("-")[1]
        if name not in lock:
            raise LockError(f"{wheel.name} is not in requirements.lock (lock it: see its header)")
        if lock[name].version != version:
            raise LockError(f"{wheel.name}: requirements.lock pins {name}=={lock[name].version}")
        chosen.append(lock[name].entry)
    return "\n".join(chosen) + "\n"


def main(argv: list[str]) -> int:
    try:
        if argv == ["pins"]:
            sys.stdout.write(pins(LOCK.read_text()))
        elif len(argv) == 2 and argv[0] == "for-wheels":
            sys.stdout.write(for_wheels(LOCK.read_text(), Path(argv[1])))
        else:
            print("usage: python3 -m testbed.lock pins | for-wheels WHEELS_DIR", file=sys.stderr)
            return 2
    except LockError as error:
        print(f"testbed.lock: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
