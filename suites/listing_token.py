"""The listing token as the testbed deploys it (Secret `listing-token`, system/CONTRACT.md): the
live suites that compare listings with what was ordered send it to see customers' full e-mails.
And the check that a listing read without it shows no e-mail in full."""

from __future__ import annotations

import base64
import re
from typing import Any

from system.common.listing_access import MASK
from testbed.kube import Kube

SECRET = "listing-token"
KEY = "LISTING_TOKEN"


def deployed_listing_token(kube: Kube) -> str:
    """LISTING_TOKEN of the deployed Secret; a clear error when the Secret lacks it."""
    data = kube.core.read_namespaced_secret(SECRET, kube.namespace).data or {}
    if KEY not in data:
        raise LookupError(f"Secret {kube.namespace}/{SECRET} has no {KEY} (keys: {sorted(data)})")
    return base64.b64decode(data[KEY]).decode()


#: An e-mail as mask_email leaves it: at most one character, the mask, the domain.
MASKED = re.compile(rf"[^@]?{re.escape(MASK)}@[^@]+")


def unmasked(records: list[dict[str, Any]]) -> list[str]:
    """Each record (an order or a notification) whose customer_email is not masked: a leak."""
    return [
        f"{record.get('id') or record.get('order_id')} shows {record['customer_email']!r}"
        for record in records
        if not MASKED.fullmatch(record["customer_email"])
    ]
