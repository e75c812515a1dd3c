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
    found = await read_within(deadline, "notification-db", store.for_orders(order_id, limit))
    if full_emails:
        return found
    return [n.model_copy(update={"customer_email": mask_email(n.customer_email)}) for n in found]
