"""Who sees customers' full e-mail addresses in what the services list.

Order and notification listings name every customer's e-mail, and so does one order read by
its id (which every listing shows). A caller without a token gets each e-mail masked
(`mask_email`: `ada@example.com` -> `a***@example.com`): the listings stay useful to anyone
(ids, statuses, items), and nobody learns another customer's address from them. A caller with
`Authorization: Bearer <LISTING_TOKEN>` (the token of Secret `listing-token`) gets them in full:
operators, and the suites that compare listings with what was ordered. A caller with any other
Authorization header gets 401: a wrong token is a mistake to be told about, not an answer that
looks right but is masked. An unset LISTING_TOKEN matches no token (every e-mail masked).

The services that list (order-service, notification-service) each check the token; the gateway
forwards the header as it came. Masked answers are the default, not a refusal, because the
public API's own callers (a shop's order page, the load scenarios) read orders and
notifications by id and status and need no e-mail at all.
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

#: The header that carries the token, and its scheme: `Authorization: Bearer <LISTING_TOKEN>`.
AUTHORIZATION_HEADER = "Authorization"
SCHEME = "Bearer"
#: What replaces an e-mail's local part but its first character.
MASK = "***"
#: The name of the security scheme in the OpenAPI documents.
SCHEME_NAME = "ListingToken"

WITHOUT_TOKEN = (
    f"customer e-mails masked ({MASK}) unless `{AUTHORIZATION_HEADER}: {SCHEME} <LISTING_TOKEN>`"
)
#: The documented refusal of a route that checks the token.
REFUSALS: dict[int | str, dict[str, str]] = {
    401: {"description": f"an {AUTHORIZATION_HEADER} header that is not {SCHEME} <LISTING_TOKEN>"}
}


def mask_email(email: str) -> str:
    """`ada@example.com` -> `a***@example.com`: the domain and the first character stay."""
    local, at, domain = email.partition("@")
    if not at:
        return MASK
    return f"{local[:1]}{MASK}@{domain}"


def bearer(token: str) -> dict[str, str]:
    """The header that shows full e-mails, for a caller that holds the token."""
    return {AUTHORIZATION_HEADER: f"{SCHEME} {token}"}


class ListingToken(SecurityBase):
    """The Authorization header as sent (None when absent), documented as an optional bearer
    token. FastAPI's HTTPBearer would take `Basic ...` or a bare word for no header at all and
    mask quietly; here every header present is checked (`sees_full_emails`)."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description=WITHOUT_TOKEN)
        self.scheme_name = SCHEME_NAME

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get(AUTHORIZATION_HEADER)


LISTING_TOKEN = ListingToken()

#: The header as the caller sent it, for the gateway to forward.
PresentedToken = Annotated[str | None, Security(LISTING_TOKEN)]


def full_view(presented: str | None, token: str) -> bool:
    """Whether `presented` (an Authorization header, or None) shows full e-mails: False without
    a header; True with `Bearer <token>`; anything else is HTTP 401. Compared in constant time."""
    if presented is None:
        return False
    scheme, _, credentials = presented.partition(" ")
    matches = hmac.compare_digest(credentials.strip().encode(), token.encode())
    if scheme.lower() != SCHEME.lower() or not token or not matches:
        raise HTTPException(
            401,
            f"the {AUTHORIZATION_HEADER} header is not {SCHEME} <LISTING_TOKEN>: send the right"
            " token, or none for masked e-mails",
            headers={"WWW-Authenticate": SCHEME},
        )
    return True


async def sees_full_emails(request: Request, presented: PresentedToken) -> bool:
    """The route's caller sees full e-mails (the app's `state.listing_token`, LISTING_TOKEN)."""
    token: str = request.app.state.listing_token
    return full_view(presented, token)


FullEmails = Annotated[bool, Depends(sees_full_emails)]
