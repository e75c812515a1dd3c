"""One lock for the Python dependencies: requirements.lock pins every requirement of
pyproject.toml's extras, at a version each requirement allows, with sha256 hashes on every entry;
every tox env installs it (pip's hash-checking mode); every image that pip-installs does so with
`--require-hashes` against the lock's entries; the moto image's version is the lock's.

Each check is a pure function returning one sentence per violation, run on the real files and on
a broken copy (the negative control). The lock is not re-resolved here (that needs PyPI): its
header names the one command that writes it.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from testbed.lock import LOCK, LockError, for_wheels, pins, read_lock
from testbed.settings import REPO, Settings

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK_TEXT = LOCK.read_text()
TOX_INI = (REPO / "tox.ini").read_text()
#: What every tox env installs first, and the line an image's pip install reads the lock from.
TOX_DEPS = "-r {toxinidir}/requirements.lock"
IMAGE_LOCK = "-r /tmp/requirements.lock"
#: The one pip install an image may do without hashes: the project's wheel, built from the checkout.
OWN_WHEEL = re.compile(r"--no-deps\s+/tmp/project/\*\.whl")


def lock_problems(lock_text: str) -> list[str]:
    """Entries of the lock that pip's hash-checking mode would refuse: not `name==version`, or
    without a sha256 hash."""
    try:
        entries = read_lock(lock_text)
    except LockError as error:
        return [str(error)]
    return [
        f"requirements.lock pins {name}=={e.version} with no sha256 hash"
        for name, e in entries.items()
        if not e.hashes or not all(h.startswith("sha256:") for h in e.hashes)
    ]


def unlocked_requirements(pyproject: dict[str, object], lock_text: str) -> list[str]:
    """Requirements of pyproject.toml's extras the lock does not pin, or pins at a version the
    requirement refuses."""
    entries = read_lock(lock_text)
    project = pyproject["project"]
    assert isinstance(project, dict)
    problems = []
    for extra, requirements in project["optional-dependencies"].items():
        for text in requirements:
            requirement = Requirement(text)
            locked = entries.get(re.sub(r"[-_.]+", "-", requirement.name).lower())
            if locked is None:
                problems.append(f"extra {extra!r} asks for {text!r}; requirements.lock lacks it")
            elif not requirement.specifier.contains(locked.version, prereleases=True):
                problems.append(
                    f"extra {extra!r} asks for {text!r}; requirements.lock pins {locked.version}"
                )
    return problems


def tox_envs_off_the_lock(tox_ini: str) -> list[str]:
    """tox envs that do not install the lock: the base env's deps are not the lock, or an env
    names deps of its own."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(tox_ini)
    problems = []
    if config.get("testenv", "deps", fallback="").strip() != TOX_DEPS:
        problems.append(f"tox.ini: [testenv] deps is not `{TOX_DEPS}`")
    problems += [
        f"tox.ini: [{section}] installs deps of its own, not the lock's"
        for section in config.sections()
        if section.startswith("testenv:") and config.has_option(section, "deps")
    ]
    return problems


def pip_installs(dockerfile: str) -> list[str]:
    """The `pip install` commands of a Dockerfile, each on one line."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    commands = (part.strip() for line in joined.splitlines() for part in line.split("&&"))
    return [command for command in commands if re.search(r"\bpip install\b", command)]


def installs_off_the_lock(name: str, dockerfile: str) -> list[str]:
    """pip installs of an image that do not check the lock's hashes (the project's own wheel
    aside)."""
    return [
        f"{name}: `{command}` does not install {IMAGE_LOCK} with --require-hashes"
        for command in pip_installs(dockerfile)
        if not OWN_WHEEL.search(command)
        and not ("--require-hashes" in command and IMAGE_LOCK in command)
    ]


def moto_version_problems(lock_text: str, moto_version: str) -> list[str]:
    """The moto image (tagged with versions.env's MOTO_VERSION) installs the lock's moto."""
    locked = read_lock(lock_text)["moto"].version
    if locked == moto_version:
        return []
    return [f"versions.env's MOTO_VERSION is {moto_version}, requirements.lock pins moto {locked}"]


def lock_command(lock_text: str) -> str:
    """The command the lock's header says wrote it."""
    match = re.search(r"^#\s+(uv pip compile .*)$", lock_text, re.MULTILINE)
    assert match, "requirements.lock's header names no `uv pip compile` command"
    return match[1].strip()


def docs_off_the_command(doc: str, text: str, command: str) -> list[str]:
    """A doc that tells how to write the lock, with another command than the lock's header."""
    flat = " ".join(text.split())
    named = re.findall(r"`(uv pip compile[^`]*)`", flat)
    if not named:
        return [f"{doc} names no `uv pip compile` command for requirements.lock"]
    return [f"{doc}: `{n}` is not the lock's command `{command}`" for n in named if n != command]


def dockerfiles_that_pip_install() -> dict[str, str]:
    """Every tracked Dockerfile with a `pip install`, by its path."""
    listed = subprocess.run(
        ["git", "ls-files", "*Dockerfile"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    texts = {path: (REPO / path).read_text() for path in listed}
    return {path: text for path, text in texts.items() if pip_installs(text)}


def without_entry(lock_text: str, name: str) -> str:
    """A copy of the lock with `name`'s entry (its lines up to the next entry) removed."""
    return re.sub(rf"(?ms)^{name}==.*?(?=^\S)", "", lock_text, count=1)


# --- the lock itself ---


def test_every_lock_entry_is_pinned_with_a_sha256_hash() -> None:
    assert lock_problems(LOCK_TEXT) == []


def test_an_entry_without_its_hash_is_caught() -> None:
    # arrange: the fastapi entry's hash lines taken out
    entry = read_lock(LOCK_TEXT)["fastapi"]
    unhashed = LOCK_TEXT.replace(entry.entry, f"fastapi=={entry.version}")
    # act / assert
    assert lock_problems(unhashed) == [
        f"requirements.lock pins fastapi=={entry.version} with no sha256 hash"
    ]


def test_a_loose_pin_in_the_lock_is_caught() -> None:
    loose = LOCK_TEXT.replace("\nfastapi==", "\nfastapi>=", 1)
    assert lock_problems(loose)[0].startswith("requirements.lock: not an exact pin")


def test_every_requirement_of_every_extra_is_in_the_lock() -> None:
    assert unlocked_requirements(PYPROJECT, LOCK_TEXT) == []


def test_a_dependency_missing_from_the_lock_is_caught() -> None:
    problems = unlocked_requirements(PYPROJECT, without_entry(LOCK_TEXT, "fastapi"))
    assert problems == ["extra 'system' asks for 'fastapi>=0.115'; requirements.lock lacks it"]


def test_a_locked_version_the_extra_refuses_is_caught() -> None:
    version = read_lock(LOCK_TEXT)["kubernetes"].version
    newer = LOCK_TEXT.replace(f"\nkubernetes=={version}", "\nkubernetes==37.0.0", 1)
    problems = unlocked_requirements(PYPROJECT, newer)
    assert problems == [
        "extra 'cluster' asks for 'kubernetes>=31.0,<37'; requirements.lock pins 37.0.0"
    ]


# --- who installs it ---


def test_every_tox_env_installs_the_lock() -> None:
    assert tox_envs_off_the_lock(TOX_INI) == []


def test_a_tox_env_with_deps_of_its_own_is_caught() -> None:
    own = TOX_INI.replace("[testenv:lint]\n", "[testenv:lint]\ndeps = ruff>=0.8\n", 1)
    assert tox_envs_off_the_lock(own) == [
        "tox.ini: [testenv:lint] installs deps of its own, not the lock's"
    ]


def test_every_image_pip_installs_from_the_lock_with_hashes() -> None:
    dockerfiles = dockerfiles_that_pip_install()
    # the images that pip-install: the services', moto's and the load's (not a vacuous pass)
    assert set(dockerfiles) == {
        "system/Dockerfile",
        "airgap/images/moto/Dockerfile",
        "suites/load/image/Dockerfile",
    }
    assert [
        p for path, text in dockerfiles.items() for p in installs_off_the_lock(path, text)
    ] == []


def test_an_image_installing_without_hashes_is_caught() -> None:
    text = (REPO / "airgap" / "images" / "moto" / "Dockerfile").read_text()
    unchecked = text.replace("--require-hashes ", "")
    (problem,) = installs_off_the_lock("moto", unchecked)
    assert problem.startswith("moto: `/opt/moto/bin/pip install --no-cache-dir --no-index")


def test_the_moto_image_installs_the_locked_moto() -> None:
    assert moto_version_problems(LOCK_TEXT, Settings().airgap["MOTO_VERSION"]) == []


def test_a_moto_image_version_apart_from_the_lock_is_caught() -> None:
    locked = read_lock(LOCK_TEXT)["moto"].version
    assert moto_version_problems(LOCK_TEXT, "9.9.9") == [
        f"versions.env's MOTO_VERSION is 9.9.9, requirements.lock pins moto {locked}"
    ]


@pytest.mark.parametrize("doc", ["README.md", "docs/services.md"])
def test_the_docs_name_the_command_that_wrote_the_lock(doc: str) -> None:
    text = (REPO / doc).read_text()
    assert docs_off_the_command(doc, text, lock_command(LOCK_TEXT)) == []


def test_a_doc_with_another_lock_command_is_caught() -> None:
    command = lock_command(LOCK_TEXT)
    text = (REPO / "README.md").read_text().replace(" --universal", "")
    (problem,) = docs_off_the_command("README.md", text, command)
    assert problem.startswith("README.md: `uv pip compile pyproject.toml --all-extras --generate")


# --- the part of the lock an image installs (testbed.lock) ---


def wheel_folder(tmp_path: Path, *names: str) -> Path:
    """A folder of (empty) files named as the wheels pip downloads."""
    for name in names:
        (tmp_path / name).touch()
    (tmp_path / ".complete").touch()
    return tmp_path


def test_an_image_gets_the_lock_entries_of_its_wheels_with_their_hashes(tmp_path: Path) -> None:
    lock = read_lock(LOCK_TEXT)
    folder = wheel_folder(
        tmp_path,
        f"fastapi-{lock['fastapi'].version}-py3-none-any.whl",
        f"psycopg_binary-{lock['psycopg-binary'].version}-cp311-cp311-manylinux_2_28_x86_64.whl",
    )
    part = for_wheels(LOCK_TEXT, folder)
    assert part == lock["fastapi"].entry + "\n" + lock["psycopg-binary"].entry + "\n"
    assert lock_problems(part) == []


@pytest.mark.parametrize(
    ("wheel", "error"),
    [
        (
            "left_pad-1.0-py3-none-any.whl",
            "left_pad-1.0-py3-none-any.whl is not in requirements.lock",
        ),
        (
            "fastapi-0.1.0-py3-none-any.whl",
            "fastapi-0.1.0-py3-none-any.whl: requirements.lock pins fastapi==",
        ),
        ("fastapi-0.1.0.tar.gz", "not wheels, in"),
    ],
)
def test_a_wheel_the_lock_does_not_pin_stops_the_image(
    tmp_path: Path, wheel: str, error: str
) -> None:
    version = read_lock(LOCK_TEXT)["httpx"].version
    folder = wheel_folder(tmp_path, f"httpx-{version}-py3-none-any.whl", wheel)
    with pytest.raises(LockError, match=re.escape(error)):
        for_wheels(LOCK_TEXT, folder)


def test_the_download_pins_carry_the_locks_versions_without_hashes() -> None:
    lines = pins(LOCK_TEXT).splitlines()
    entries = read_lock(LOCK_TEXT)
    assert len(lines) == len(entries)
    assert f"moto=={entries['moto'].version}" in lines
    assert not [line for line in lines if "--hash" in line]
