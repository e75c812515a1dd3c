"""Images are pinned, never `latest`, and each is the one CONTRACT.md names for the overlay."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Rendered, container_refs, main_container, ref

FLOATING_TAGS = frozenset({"latest", "stable", "main", "master", "edge", "nightly"})


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def pinning_violations(rendered: Rendered) -> list[str]:
    violations = []
    for _, container, where in container_refs(rendered, init=True):
        image = container["image"]
        _, tag, digest = split_image(image)
        if digest is None and (tag is None or tag in FLOATING_TAGS):
            violations.append(f"{where} runs {image}, which is not pinned to a version")
        if container.get("imagePullPolicy") != "IfNotPresent":
            violations.append(
                f"{where} pulls {container.get('imagePullPolicy', 'by default')}, not IfNotPresent"
            )
    return violations


def contract_image_violations(rendered: Rendered) -> list[str]:
    violations = []
    names = [w.name for w in rendered.promised_workloads()]
    names += [a.name for a in rendered.promised_node_agents()]
    for name in names:
        expected = promises.expected_image(name, rendered.overlay)
        workload = rendered.workload(name)
        actual = main_container(workload)["image"]
        if actual != expected:
            violations.append(f"{ref(workload)} runs {actual}, the contract says {expected}")
    return violations
