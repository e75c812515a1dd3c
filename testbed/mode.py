"""Online or air-gapped: the testbed's mode, decided without the cluster libraries (the set-up
check runs before they are installed)."""

from __future__ import annotations

import urllib.error
import urllib.request

from testbed.settings import Settings

REGISTRY_PROBE = "https://registry-1.docker.io/v2/"


def registry_reachable(timeout: float = 3.0) -> bool:
    """True when a container registry answers at all (any HTTP status counts)."""
    try:
        urllib.request.urlopen(REGISTRY_PROBE, timeout=timeout)
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
    return True


def is_offline(settings: Settings) -> bool:
    """Air-gapped when asked to be, or, in mode auto, when no registry answers."""
    return settings.mode == "offline" or (settings.mode == "auto" and not registry_reachable())
