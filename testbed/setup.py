"""`python -m testbed setup fast|e2e [--check]`: what the suites need from the host, installed.

`tox` calls it before the fast suite and `tox -e e2e` before the live suites (tox.ini's
commands_pre). Each need is a row of data: how to see it is there, which Debian packages or
which build script of this repository provide it. On Debian or Ubuntu as root the missing ones
are installed (apt) or built (the Go module proxy, into the cache); anywhere else the run stops
at once, before any work, with the exact commands to run. When everything is there it costs a
few PATH and file look-ups (and one `docker info` for e2e).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from testbed.mode import is_offline
from testbed.settings import AIRGAP, REPO, Settings

Target = Literal["fast", "e2e"]
#: Go's version the builds need (airgap/go/build.sh: GOTOOLCHAIN=local, go 1.24 modules).
GO_MINIMUM = (1, 24)
GO_HOWTO = (
    "install Go >= 1.24: Debian 13 / Ubuntu 25.04 and later `apt-get install golang-go`; "
    "elsewhere https://go.dev/doc/install (Debian 12's golang-go is 1.19, too old)"
)


@dataclass(frozen=True)
class Need:
    """One thing a suite needs from the host, and where it comes from."""

    what: str
    present: Callable[[], bool]
    #: Debian packages that provide it (installed as root with apt-get).
    apt: tuple[str, ...] = ()
    #: A script of this repository (and its arguments) that provides it.
    script: tuple[str, ...] = ()
    #: The script builds from the Go module proxy (so it needs Go).
    needs_go: bool = False
    #: The script needs root (it installs packages or starts a daemon).
    script_needs_root: bool = False
    #: Neither apt nor a script here provides it: what the person should do.
    howto: str = ""


def _on_path(*names: str) -> Callable[[], bool]:
    return lambda: any(shutil.which(name) for name in names)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _postgres() -> bool:
    # The fast suite's default, as suites/system/servers.py reads it.
    binaries = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
    return _executable(binaries / "postgres")


def go_build_dir(cache: Path, name: str, version: str) -> Path:
    """Where `airgap/go/build.sh NAME` caches a component of airgap/go/components.tsv: NAME-VERSION,
    and `-VARIANT` for a patched build (the row's seventh column)."""
    for line in (AIRGAP / "go" / "components.tsv").read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == name:
            variant = fields[6] if len(fields) > 6 and fields[6] else ""
            return cache / "go" / (f"{name}-{version}" + (f"-{variant}" if variant else ""))
    raise KeyError(f"{name} is not a row of airgap/go/components.tsv")


def ferretdb_binary(settings: Settings) -> Path:
    """Where `airgap/go/build.sh ferretdb` puts FerretDB (the fast suite looks there too)."""
    version = settings.airgap["FERRETDB_VERSION"]
    return go_build_dir(settings.cache, "ferretdb", version) / "bin" / "ferretdb"


def kube_score_binary(settings: Settings) -> Path:
    """The manifest linter suites/static runs: $DEMO_MICRO_KUBE_SCORE, else where
    `airgap/go/build.sh kube-score` puts the pinned version (not PATH: its findings change with
    its version, and manifests/lint-accepted.yaml lists those of the pinned one)."""
    if explicit := os.environ.get("DEMO_MICRO_KUBE_SCORE"):
        return Path(explicit)
    version = settings.airgap["KUBE_SCORE_VERSION"]
    return go_build_dir(settings.cache, "kube-score", version) / "bin" / "kube-score"


def _ferretdb(settings: Settings) -> Callable[[], bool]:
    def present() -> bool:
        explicit = os.environ.get("FERRETDB_BIN")
        if explicit:
            return _executable(Path(explicit))
        return bool(shutil.which("ferretdb")) or _executable(ferretdb_binary(settings))

    return present


def _renderer(settings: Settings) -> Callable[[], bool]:
    # The places suites/static/render.py looks, in its order.
    def present() -> bool:
        explicit = os.environ.get("DEMO_MICRO_KUSTOMIZE")
        if explicit:
            return _executable(Path(explicit))
        cached = settings.cache / "bin" / "kustomize"
        return bool(shutil.which("kubectl") or shutil.which("kustomize")) or _executable(cached)

    return present


def static_c() -> bool:
    """gcc can link a static binary: it finds libc.a (Debian's libc6-dev)."""
    try:
        out = subprocess.run(
            ["gcc", "-print-file-name=libc.a"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return Path(out).is_absolute() and Path(out).is_file()


#: kind's "too many open files": every node's containerd, kubelet and systemd take inotify
#: instances from one per-user budget; airgap/host/prepare-docker.sh raises these.
INOTIFY_MINIMUM = {"max_user_instances": 512, "max_user_watches": 524288}


def inotify_roomy(proc: Path = Path("/proc/sys/fs/inotify")) -> bool:
    """The kernel's inotify limits are at least what a 3-node kind cluster needs."""
    try:
        return all(int((proc / key).read_text()) >= want for key, want in INOTIFY_MINIMUM.items())
    except (OSError, ValueError):
        return False


def docker_answers() -> bool:
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def go_version(output: str) -> tuple[int, int] | None:
    """(major, minor) from `go version`'s output, or None."""
    found = re.search(r"\bgo(\d+)\.(\d+)", output)
    return (int(found.group(1)), int(found.group(2))) if found else None


def go_usable() -> bool:
    try:
        out = subprocess.run(
            ["go", "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    version = go_version(out)
    return version is not None and version >= GO_MINIMUM


#: FerretDB's air-gapped build applies a patch of ours (airgap/go/patches/).
PATCH = Need("patch (FerretDB's build)", _on_path("patch"), apt=("patch",))


def needs(target: Target, settings: Settings, *, offline: bool) -> list[Need]:
    """What `target` needs from the host, in the order it is set up."""
    renderer = Need(
        "kubectl or kustomize (renders the manifests for suites/static)",
        _renderer(settings),
        script=("airgap/go/build-kustomize.sh",),
        needs_go=True,
    )
    linter = Need(
        f"kube-score {settings.airgap['KUBE_SCORE_VERSION']} (suites/static's manifest linter)",
        lambda: _executable(kube_score_binary(settings)),
        script=("airgap/go/build.sh", "kube-score"),
        needs_go=True,
    )
    if target == "fast":
        return [
            Need("PostgreSQL 15 server", _postgres, apt=("postgresql",)),
            Need("Redis server", _on_path("redis-server"), apt=("redis-server",)),
            Need(
                "headless Chromium (the report test)",
                _on_path("chromium", "chromium-browser", "google-chrome"),
                apt=("chromium",),
            ),
            Need(
                "iptables-nft (fault rules and the delayer tried in a throwaway namespace)",
                _on_path("iptables-nft"),
                apt=("iptables",),
            ),
            renderer,
            PATCH,
            Need(
                f"FerretDB {settings.airgap['FERRETDB_VERSION']} (the MongoDB-wire server)",
                _ferretdb(settings),
                script=("airgap/go/build.sh", "ferretdb"),
                needs_go=True,
            ),
            linter,
        ]
    wanted = [
        renderer,
        linter,
        Need(
            "a running Docker engine",
            docker_answers,
            script=("airgap/host/prepare-docker.sh",),
            script_needs_root=True,
        ),
        Need(
            "inotify limits for 3 kind nodes (fs.inotify.max_user_instances >= 512)",
            inotify_roomy,
            script=("airgap/host/prepare-docker.sh",),
            script_needs_root=True,
        ),
    ]
    if offline or not (shutil.which("kind") and shutil.which("kubectl")):
        wanted.append(
            Need(
                "Go >= 1.24 (the bring-up builds kind and Kubernetes from the Go module proxy)",
                go_usable,
                howto=GO_HOWTO,
            )
        )
    if offline:
        # What the air-gapped builds of the bring-up call (airgap/images/*.sh); the builds
        # themselves run in `testbed up`, cached per version.
        wanted += [
            Need("debootstrap (base images)", _on_path("debootstrap"), apt=("debootstrap",)),
            PATCH,
            Need("jq", _on_path("jq"), apt=("jq",)),
            Need("iptables", _on_path("iptables"), apt=("iptables",)),
            Need("gcc and libc6-dev (the static pause binary)", static_c, apt=("gcc", "libc6-dev")),
            Need("Maven (OpenSearch from Maven Central)", _on_path("mvn"), apt=("maven",)),
        ]
    return wanted


@dataclass(frozen=True)
class Host:
    """What this machine allows: installing with apt as root, building with Go."""

    root: bool
    debian: bool
    go: bool

    @classmethod
    def here(cls) -> Host:
        debian = Path("/etc/debian_version").exists() and bool(shutil.which("apt-get"))
        return cls(root=os.geteuid() == 0, debian=debian, go=go_usable())


def blockers(missing: Sequence[Need], host: Host) -> list[str]:
    """Why the missing needs cannot all be provided here ([] when they can)."""
    reasons = []
    if any(need.apt for need in missing) and not (host.root and host.debian):
        packages = " ".join(package for need in missing for package in need.apt)
        reasons.append(f"Debian packages ({packages}) need root on Debian or Ubuntu")
    if any(need.script_needs_root for need in missing) and not (host.root and host.debian):
        reasons.append("the Docker engine's preparation needs root on Debian or Ubuntu")
    if any(need.needs_go for need in missing) and not host.go:
        reasons.append("the Go builds need Go >= 1.24, which is not on PATH")
    reasons += [f"{need.what}: nothing here installs it" for need in missing if need.howto]
    return reasons


def commands(missing: Sequence[Need], host: Host) -> list[str]:
    """The exact commands that provide `missing`, in order (from the repository's root)."""
    lines = []
    packages = [package for need in missing for package in need.apt]
    if packages:
        lines.append(f"apt-get install -y {' '.join(packages)}")
    howtos = [GO_HOWTO] if any(need.needs_go for need in missing) and not host.go else []
    howtos += [need.howto for need in missing if need.howto]
    lines += [f"# {howto}" for howto in dict.fromkeys(howtos)]
    lines += [" ".join(script) for script in _scripts(missing)]
    return lines


def _scripts(missing: Sequence[Need]) -> list[tuple[str, ...]]:
    """The scripts (with their arguments) that provide `missing`, each once, in order."""
    return list(dict.fromkeys(need.script for need in missing if need.script))


def _run(argv: Sequence[str], what: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"setup: {what}: {' '.join(argv)}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, cwd=REPO, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"setup: {what} failed (exit {done.returncode}): {' '.join(argv)}")


def provide(missing: Sequence[Need]) -> None:
    """Install and build what is missing (the caller checked that this host can)."""
    packages = [package for need in missing for package in need.apt]
    if packages:
        _run(["apt-get", "update", "-q"], "package lists")
        _run(["apt-get", "install", "-y", "-q", *packages], "Debian packages")
    for script in _scripts(missing):
        _run([str(REPO / script[0]), *script[1:]], " ".join(script))


def setup(target: Target, *, check: bool, offline: bool, host: Host | None = None) -> int:
    """Set up `target`'s needs; 0 when they are all present afterwards."""
    started = time.monotonic()
    settings = Settings.from_env()
    wanted = needs(target, settings, offline=offline)
    missing = [need for need in wanted if not need.present()]
    label = f"setup {target}" + (" (air-gapped)" if target == "e2e" and offline else "")
    if not missing:
        print(
            f"{label}: all {len(wanted)} needs present ({time.monotonic() - started:.1f} s)",
            file=sys.stderr,
        )
        return 0
    host = host or Host.here()
    listing = "\n".join(f"  - {need.what}" for need in missing)
    todo = "\n".join(f"  {line}" for line in commands(missing, host))
    reasons = blockers(missing, host)
    if check or reasons:
        why = "; ".join(reasons) if reasons else "--check: nothing was changed"
        print(
            f"{label}: missing on this machine:\n{listing}\n"
            f"Run, from the repository's root ({why}):\n{todo}",
            file=sys.stderr,
        )
        return 1
    print(f"{label}: providing\n{listing}", file=sys.stderr, flush=True)
    provide(missing)
    still = [need.what for need in wanted if not need.present()]
    if still:
        print(f"{label}: still missing after the set-up: {', '.join(still)}", file=sys.stderr)
        return 1
    print(f"{label}: done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


def main(target: Target, *, check: bool) -> int:
    """`python -m testbed setup TARGET [--check]` (testbed/__main__.py parses it)."""
    offline = target == "e2e" and is_offline(Settings.from_env())
    return setup(target, check=check, offline=offline)
