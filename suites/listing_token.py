"""The listing token as the testbed deploys it (Secret `listing-token`, system/CONTRACT.md): the
live suites that compare listings with what was ordered send it to see customers' full e-mails."""

from __future__ import annotations

import base64

from testbed.kube import Kube

SECRET = "listing-token"
KEY = "LISTING_TOKEN"


def deployed_listing_token(kube: Kube) -> str:
    """LISTING_TOKEN of the deployed Secret; a clear error when the Secret lacks it."""
    data = kube.core.read_namespaced_secret(SECRET, kube.namespace).data or {}
    if KEY not in data:
        raise LookupError(f"Secret {kube.namespace}/{SECRET} has no {KEY} (keys: {sorted(data)})")
    return base64.b64decode(data[KEY]).decode()
