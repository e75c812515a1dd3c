"""HTTP endpoints of notification-service."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from system.common.deadline import read_not_in_time, read_within
from system.common.listing_access import REFUSALS, WITHOUT_TOKEN, FullEmails, mask_email
from system.notification_service.schemas import Notification
from system.notification_service.store import NotificationStore


# async: FastAPI would run a plain `def` dependency in a worker thread, per request.
async def get_store(request: Request) -> NotificationStore:
    store: NotificationStore = request.app.state.store
    return store


StoreDep = Annotated[NotificationStore, Depends(get_store)]

router = APIRouter()

#: How long past the read deadline a listing's read, ended by the driver itself at the deadline,
#: may take before it is cancelled.
DRIVER_OVERRUN_SECONDS = 0.25


@router.get(
    "/notifications",
    description=f"Notifications, newest first; at most one per order; {WITHOUT_TOKEN}.",
    responses={**REFUSALS, **read_not_in_time("notification-db")},
)
async def list_notifications(
    request: Request,
    store: StoreDep,
    full_emails: FullEmails,
    order_id: Annotated[
        list[UUID] | None,
        Query(max_length=100, description="only these orders' (repeat for several)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[Notification]:
    deadline: float = request.app.state.read_deadline_seconds
    # The driver ends the read at the deadline by itself, so that it is never cancelled
    # (docs/services.md, "A stuck MongoDB client"); cancelled only if it overruns that.
    found = await read_within(
        deadline,
        "notification-db",
        store.for_orders(order_id, limit, deadline),
        grace=DRIVER_OVERRUN_SECONDS,
    )
    if full_emails:
        return found
    return [n.model_copy(update={"customer_email": mask_email(n.customer_email)}) for n in found]
