"""airgap/images/build-logging.sh unpacks OpenSearch's zip and its security plugin's from Maven
Central only when each one's SHA-512 is the one versions.env pins: fetched or cached, a zip with
another checksum stops the build before anything is unpacked, naming the command that clears
the cache.

The real script and its lib.sh run in a throwaway copy of airgap/ (versions.env copied, so a
test can pin another checksum) whose build-debian-base.sh is a stub, with a throwaway cache and
a PATH of stubs for `docker`, `mvn` and `python3` that record their calls (python3 then does
the real unpacking), so no image is built and Maven Central is not reached.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.settings import AIRGAP, Settings

VERSION = Settings().airgap["OPENSEARCH_VERSION"]
PINNED = Settings().airgap["OPENSEARCH_ZIP_SHA512"]
PLUGIN_PINNED = Settings().airgap["OPENSEARCH_SECURITY_ZIP_SHA512"]
PLUGIN = f"opensearch-security-{VERSION}.0"

STUBS = {
    # No image is present; `build` records its context's unpacked launchers.
    "docker": r"""
echo "docker $1 $2" >> "$STUB_STATE/calls"
case "$1" in
  image) exit 1 ;;
  build) for last; do :; done
    [ ! -d "$last/opensearch" ] || ls "$last/opensearch/bin" >> "$STUB_STATE/unpacked"
    [ ! -d "$last/opensearch/config/opensearch-security" ] \
      || ls "$last/opensearch/config/opensearch-security" >> "$STUB_STATE/security" ;;
esac
""",
    # Maven "downloads" the zip the test put aside as Maven Central's answer.
    "mvn": r"""
echo "mvn $*" >> "$STUB_STATE/calls"
for arg; do case "$arg" in -DoutputDirectory=*) out=${arg#-DoutputDirectory=} ;; esac; done
cp "$STUB_STATE"/central/* "$out/"
""",
    "python3": f'echo "python3 $*" >> "$STUB_STATE/calls"\nexec {sys.executable} "$@"\n',
}
TOOLS = ["bash", "cat", "chmod", "cp", "cut", "date", "dirname", "ls", "mkdir", "mktemp", "mv"]
TOOLS += ["rm", "sha512sum", "touch", "find", "sort", "xargs", "sha256sum"]


@dataclass
class Build:
    """A throwaway airgap/ copy, cache and stubbed PATH for build-logging.sh."""

    airgap: Path
    cache: Path
    path: str
    state: Path

    @property
    def cached_zip(self) -> Path:
        return self.cache / "maven" / f"opensearch-{VERSION}" / f"opensearch-{VERSION}.zip"

    @property
    def cached_plugin(self) -> Path:
        return self.cache / "maven" / PLUGIN / f"{PLUGIN}.zip"

    def pin(self, name: str, was: str, sha512: str) -> None:
        versions = self.airgap / "versions.env"
        text = versions.read_text()
        versions.write_text(text.replace(f"{name}={was}", f"{name}={sha512}"))

    def cache_zip(self, data: bytes, path: Path | None = None) -> None:
        path = path or self.cached_zip
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        path.with_name(path.name + ".complete").touch()

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.airgap / "images" / "build-logging.sh")],
            env={
                **os.environ,
                "PATH": self.path,
                "STUB_STATE": str(self.state),
                "DEMO_MICRO_CACHE": str(self.cache),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[str]:
        log = self.state / "calls"
        return log.read_text().splitlines() if log.exists() else []

    def unpacked(self) -> list[str]:
        found = self.state / "unpacked"
        return found.read_text().split() if found.exists() else []

    def security_config(self) -> list[str]:
        """The plugin's configuration files in the built context."""
        found = self.state / "security"
        return found.read_text().split() if found.exists() else []


def distribution_zip() -> bytes:
    """A zip laid out as OpenSearch's integ-test zip (a launcher, a setting), not the real one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"opensearch-{VERSION}/bin/opensearch", "#!/bin/sh\n")
        archive.writestr(f"opensearch-{VERSION}/config/jvm.options", "-Xmx1g\n")
    return buffer.getvalue()


def plugin_zip() -> bytes:
    """A zip laid out as the security plugin's (its demo users, a tool), not the real one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("internal_users", "roles_mapping", "roles", "config"):
            archive.writestr(f"config/{name}.yml", "_meta: {}\n")
        archive.writestr("tools/hash.sh", "#!/bin/sh\n")
    return buffer.getvalue()


@pytest.fixture
def build(tmp_path: Path) -> Build:
    airgap, stubs, tools, state = (
        tmp_path / name for name in ("airgap", "stubs", "tools", "state")
    )
    (airgap / "images").mkdir(parents=True)
    for name in ("build-logging.sh", "lib.sh"):
        shutil.copy2(AIRGAP / "images" / name, airgap / "images" / name)
    shutil.copytree(AIRGAP / "images" / "opensearch", airgap / "images" / "opensearch")
    shutil.copy2(AIRGAP / "versions.env", airgap / "versions.env")
    base = airgap / "images" / "build-debian-base.sh"
    base.write_text("#!/bin/sh\nexit 0\n")
    base.chmod(0o755)
    for folder in (stubs, tools, state):
        folder.mkdir()
    for name, body in STUBS.items():
        (stubs / name).write_text("#!/bin/sh\n" + body)
        (stubs / name).chmod(0o755)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is not on PATH: the script needs it"
        (tools / tool).symlink_to(found)
    return Build(airgap, tmp_path / "cache", f"{stubs}:{tools}", state)


def test_a_cached_zip_with_another_checksum_is_refused_and_nothing_is_unpacked(
    build: Build,
) -> None:
    # arrange: a completed cache entry whose bytes are not the pinned zip's
    build.cache_zip(distribution_zip())
    # act
    done = build.run()
    # assert: stopped before the unpacking, saying why and how to clear the cache
    assert done.returncode != 0, done.stdout
    assert f"not versions.env's OPENSEARCH_ZIP_SHA512 {PINNED}" in done.stderr
    assert f"rm -rf '{build.cached_zip.parent}'" in done.stderr
    assert not [call for call in build.calls() if call.startswith(("python3", "docker build"))]
    assert build.unpacked() == []


def test_a_fetched_zip_with_another_checksum_is_refused_and_not_marked_complete(
    build: Build,
) -> None:
    # arrange: Maven Central answers with another zip
    (build.state / "central").mkdir()
    (build.state / "central" / build.cached_zip.name).write_bytes(distribution_zip())
    # act
    done = build.run()
    # assert
    assert done.returncode != 0, done.stdout
    assert any(call.startswith("mvn ") for call in build.calls())
    assert "refusing to unpack it" in done.stderr
    assert not build.cached_zip.with_name(build.cached_zip.name + ".complete").exists()
    assert build.unpacked() == []


def test_a_cached_plugin_with_another_checksum_is_refused_and_nothing_is_built(
    build: Build,
) -> None:
    # arrange: the distribution as pinned, the plugin's cache entry with other bytes
    zip_bytes = distribution_zip()
    build.cache_zip(zip_bytes)
    build.pin("OPENSEARCH_ZIP_SHA512", PINNED, hashlib.sha512(zip_bytes).hexdigest())
    build.cache_zip(plugin_zip(), build.cached_plugin)
    # act
    done = build.run()
    # assert
    assert done.returncode != 0, done.stdout
    assert f"not versions.env's OPENSEARCH_SECURITY_ZIP_SHA512 {PLUGIN_PINNED}" in done.stderr
    assert f"rm -rf '{build.cached_plugin.parent}'" in done.stderr
    assert not [call for call in build.calls() if call.startswith(("python3", "docker build"))]


def test_the_zips_with_the_pinned_checksums_are_unpacked_and_built(build: Build) -> None:
    """The control: the same cached zips, pinned by their own checksums, go through, the
    plugin's demo users left out."""
    zip_bytes, plugin_bytes = distribution_zip(), plugin_zip()
    build.cache_zip(zip_bytes)
    build.cache_zip(plugin_bytes, build.cached_plugin)
    build.pin("OPENSEARCH_ZIP_SHA512", PINNED, hashlib.sha512(zip_bytes).hexdigest())
    build.pin(
        "OPENSEARCH_SECURITY_ZIP_SHA512", PLUGIN_PINNED, hashlib.sha512(plugin_bytes).hexdigest()
    )
    done = build.run()
    assert done.returncode == 0, done.stderr
    assert build.unpacked() == ["opensearch"]
    assert build.security_config() == ["config.yml"]
    assert any(call.startswith("docker build") for call in build.calls())


@pytest.mark.parametrize("pin", [PINNED, PLUGIN_PINNED])
def test_the_pinned_checksums_are_sha512s(pin: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{128}", pin), pin
