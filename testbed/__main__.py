"""`python -m testbed up|down|status`: the testbed lifecycle from the command line."""

from __future__ import annotations

import argparse
import sys
import time

from testbed.cluster import SetupError, Testbed
from testbed.settings import Settings
from testbed.shell import CommandFailed, progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--mode", choices=["auto", "online", "offline"], help="default: DEMO_MICRO_MODE or auto"
    )
    parser.add_argument(
        "--no-deploy", action="store_true", help="up: create the cluster but deploy nothing"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.mode:
        settings = Settings(**{**settings.__dict__, "mode": args.mode})
    testbed = Testbed(settings)
    started = time.monotonic()
    try:
        if args.command == "up":
            testbed.up(deploy=not args.no_deploy)
            progress(f"up in {time.monotonic() - started:.0f} s")
        elif args.command == "down":
            testbed.down()
        else:
            print(testbed.status())
    except (SetupError, CommandFailed, AssertionError) as problem:
        print(f"testbed {args.command}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
