"""Image archives for the kind nodes: `docker save` once per set of image IDs, kept in the cache.

Loading images was the longest step of a warm bring-up (153 s of 280 s in the CI run of
fdbf6ea on 2 Dec 2026: `docker save` of 2.2 GiB took 73 s, the import into both workers 98 s on
this 2-core machine). Most of those bytes are the stand-ins and add-ons, which change only when
their versions do; the four service images change with the code. So the images are saved as
groups (one archive per group, layers shared inside a group written once), each archive named
by the image IDs it holds and kept until a load no longer needs it: a warm bring-up saves only
the group whose images were rebuilt.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testbed.shell import CommandFailed, progress, run

#: How an archive is imported into a node's containerd (the namespace the kubelet uses).
#: `--digests` gives each image a reference by its manifest digest, which the kubelet then
#: reports as the running image's ID (without it the ID is the config digest, and every pod
#: looked like an earlier build: the smoke suite's check). `--no-unpack`: only the blobs are
#: stored; containerd unpacks an image when a container of it is first created.
IMPORT = ("import", "--all-platforms", "--digests", "--no-unpack", "-")


@dataclass(frozen=True)
class Archive:
    """One `docker save` archive and the images in it."""

    images: tuple[str, ...]
    path: Path


def archive_name(images: Sequence[str], ids: Mapping[str, str]) -> str:
    """The file name of the archive of `images` as they are now (their names and image IDs)."""
    content = "".join(f"{image} {ids[image]}\n" for image in sorted(images))
    return f"{hashlib.sha256(content.encode()).hexdigest()[:24]}.tar"


def save_archives(
    groups: Sequence[Sequence[str]], ids: Mapping[str, str], directory: Path
) -> list[Archive]:
    """An archive per non-empty group, from the cache when it holds one of exactly these image
    IDs, else written by `docker save` (to a partial file renamed when complete). Archives no
    group needs any more are deleted: the cache holds the latest images only."""
    directory.mkdir(parents=True, exist_ok=True)
    archives = []
    for group in groups:
        if not group:
            continue
        path = directory / archive_name(group, ids)
        if path.exists():
            progress(f"reusing the archive of {len(group)} images ({path.name})")
        else:
            partial = path.with_name(path.name + ".partial")
            progress(f"saving {len(group)} images to {path}")
            run(["docker", "save", "-o", str(partial), *group], timeout=900, what="docker save")
            partial.rename(path)
        archives.append(Archive(tuple(group), path))
    kept = {archive.path for archive in archives}
    for stale in directory.iterdir():
        if stale not in kept:
            stale.unlink()
    return archives


def needed(archives: Sequence[Archive], missing: Sequence[str]) -> list[Archive]:
    """The archives holding at least one of the `missing` images."""
    return [archive for archive in archives if set(archive.images) & set(missing)]


def import_archive(container: str, archive: Archive) -> None:
    """Stream an image archive into the containerd of a node container (`docker exec -i`)."""
    cmd = ["docker", "exec", "-i", container, "ctr", "--namespace=k8s.io", "images", *IMPORT]
    with archive.path.open("rb") as stream:
        done = subprocess.run(cmd, stdin=stream, capture_output=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise CommandFailed(
            f"image import of {archive.path.name} into {container} failed "
            f"(exit {done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}"
        )
