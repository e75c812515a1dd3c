"""`python -m testbed up|build|down|status|setup|host-undo|deploy-drawing|registry|attach`: the
testbed lifecycle from the command line, any drawing deployed on it, and the system deployed
through a registry on a cluster the testbed did not create."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from testbed.settings import Settings


def parser() -> argparse.ArgumentParser:
    """The command line (the docs test checks the commands the docs name against it)."""
    top = argparse.ArgumentParser(prog="python -m testbed", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("up", "create (or reuse) the kind cluster, load the images, deploy, wait until ready"),
        ("build", "build (or find in the cache) every image `up` loads; no cluster"),
        ("down", "delete the cluster"),
        ("status", "the cluster's nodes, workloads and PVCs, and why anything is not ready"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--mode",
            choices=["auto", "online", "offline"],
            help="default: DEMO_MICRO_MODE or auto",
        )
        if name == "up":
            command.add_argument(
                "--no-deploy", action="store_true", help="create the cluster but deploy nothing"
            )
    deploy = commands.add_parser(
        "deploy-drawing",
        help="build, load and deploy an overlay of a drawing file on the running testbed, and "
        "wait until its workloads are Ready (its services' images from their `build`)",
    )
    deploy.add_argument("drawing", type=Path, metavar="PATH", help="the drawing file")
    deploy.add_argument(
        "--overlay",
        help="default: the drawing's one air-gapped overlay on an air-gapped testbed (its one "
        "online overlay online)",
    )
    deploy.add_argument(
        "--delete", action="store_true", help="delete the drawing's namespace instead"
    )
    deploy.add_argument(
        "--check",
        action="store_true",
        help="then run kubepromises' generic suites (static and live) on it, with the arguments "
        "after `--` given to pytest; the exit code is pytest's",
    )
    deploy.add_argument(
        "--mode", choices=["auto", "online", "offline"], help="default: DEMO_MICRO_MODE or auto"
    )
    setup = commands.add_parser(
        "setup", help="install or build what `tox` (fast) or `tox -e e2e` (e2e) needs"
    )
    setup.add_argument("target", choices=["fast", "e2e"])
    setup.add_argument(
        "--check", action="store_true", help="only list what is missing (exit 1 when something is)"
    )
    commands.add_parser(
        "host-undo",
        help="take back what `setup e2e` changed on the host to run Docker (daemon.json, the "
        "runtime wrapper, sysctls): airgap/host/prepare-docker.sh --undo",
    )
    registry = commands.add_parser(
        "registry",
        help="run (up), remove (down) or show (status) the container registry for clusters the "
        "testbed did not create (CNCF distribution, built offline; testbed/registry.py)",
    )
    registry.add_argument("action", choices=["up", "down", "status"])
    registry.add_argument(
        "--address",
        default=None,
        metavar="HOST:PORT",
        help="where the host reaches it (up; default localhost:5001, bound to 127.0.0.1)",
    )
    registry.add_argument(
        "--kind-cluster",
        metavar="NAME",
        help="up: then write its hosts.toml into every node of this kind cluster",
    )
    attach = commands.add_parser(
        "attach",
        help="push the images to a registry, deploy the air-gapped overlay with the registry's "
        "names on a cluster the testbed did not create, wait until ready, print the gateway",
    )
    attach.add_argument("--kubeconfig", type=Path, required=True, metavar="PATH")
    attach.add_argument("--context", metavar="NAME", help="default: the kubeconfig's current one")
    attach.add_argument(
        "--registry",
        required=True,
        metavar="HOST:PORT",
        help="the registry the host pushes to and the nodes pull from "
        "(`python -m testbed registry up` runs one)",
    )
    return top


def registry_command(args: argparse.Namespace, settings: Settings) -> int:
    """`python -m testbed registry up|down|status`."""
    from testbed import registry
    from testbed.cluster import Testbed
    from testbed.shell import CommandFailed

    if args.action != "up" and (args.address or args.kind_cluster):
        print("testbed registry: --address and --kind-cluster go with `up`", file=sys.stderr)
        return 2
    address = args.address or registry.DEFAULT_ADDRESS
    try:
        registry.parse_address(address)
        if args.action == "up":
            registry.up(settings, address)
            if args.kind_cluster:
                if args.kind_cluster == settings.cluster_name:
                    print(
                        f"testbed registry: {args.kind_cluster} is the testbed's own cluster, "
                        "which loads its images with ctr",
                        file=sys.stderr,
                    )
                    return 2
                kind = Testbed(Settings(**{**settings.__dict__, "mode": "offline"})).kind_binary()
                registry.configure_kind_nodes(args.kind_cluster, kind, address)
        elif args.action == "down":
            registry.down()
        else:
            print(registry.status())
    except ValueError as bad:
        print(f"testbed registry: {bad}", file=sys.stderr)
        return 2
    except (CommandFailed, registry.RegistryError) as problem:
        print(f"testbed registry {args.action}: {problem}", file=sys.stderr)
        return 1
    return 0


def attach_command(args: argparse.Namespace, settings: Settings) -> int:
    """`python -m testbed attach`: the gateway's address on stdout, the rest on stderr."""
    from testbed import attach
    from testbed.cluster import SetupError
    from testbed.registry import RegistryError
    from testbed.shell import CommandFailed

    try:
        gateway = attach.main(
            args.kubeconfig, context=args.context, registry=args.registry, settings=settings
        )
    except attach.BadInput as bad:
        print(f"testbed attach: {bad}", file=sys.stderr)
        return 2
    except (SetupError, CommandFailed, RegistryError, AssertionError) as problem:
        print(f"testbed attach: {problem}", file=sys.stderr)
        return 1
    print(gateway)
    return 0


def host_undo() -> int:
    """`python -m testbed host-undo`: the host preparation's own undo, which says what it did."""
    from testbed.settings import AIRGAP

    script = AIRGAP / "host" / "prepare-docker.sh"
    return subprocess.run([str(script), "--undo"], check=False).returncode


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    # What follows `--` is pytest's (deploy-drawing --check), kept out of argparse's way.
    cut = given.index("--") if "--" in given else len(given)
    args = parser().parse_args(given[:cut])
    pytest_args = given[cut + 1 :]
    if args.command == "setup":
        from testbed.setup import main as setup_main

        return setup_main(args.target, check=args.check)
    if args.command == "host-undo":
        return host_undo()

    from testbed.cluster import SetupError, Testbed
    from testbed.shell import CommandFailed, progress

    settings = Settings.from_env()
    if args.command == "registry":
        return registry_command(args, settings)
    if args.command == "attach":
        return attach_command(args, settings)
    if args.mode:
        settings = Settings(**{**settings.__dict__, "mode": args.mode})
    started = time.monotonic()
    if args.command == "deploy-drawing":
        from testbed import deploy_drawing

        if pytest_args and not args.check:
            print("testbed deploy-drawing: arguments after -- go with --check", file=sys.stderr)
            return 2
        if args.check and args.delete:
            print(
                "testbed deploy-drawing: --check checks a deployment, --delete removes it: "
                "give one",
                file=sys.stderr,
            )
            return 2
        try:
            checked = deploy_drawing.main(
                args.drawing,
                overlay=args.overlay,
                remove=args.delete,
                settings=settings,
                check=pytest_args if args.check else None,
            )
        except deploy_drawing.BadInput as bad:
            print(f"testbed deploy-drawing: {bad}", file=sys.stderr)
            return 2
        except (SetupError, CommandFailed, AssertionError) as problem:
            print(f"testbed deploy-drawing: {problem}", file=sys.stderr)
            return 1
        progress(f"deploy-drawing done in {time.monotonic() - started:.0f} s")
        return checked
    testbed = Testbed(settings)
    try:
        if args.command == "up":
            testbed.up(deploy=not args.no_deploy)
            progress(f"up in {time.monotonic() - started:.0f} s")
        elif args.command == "build":
            testbed.settings.cache.mkdir(parents=True, exist_ok=True)
            # The archives too, so that `up` finds them saved (CI runs this beside `tox`).
            testbed.image_archives(testbed.build())
            progress(f"images built and saved in {time.monotonic() - started:.0f} s")
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
