"""order-service settings (names from system/CONTRACT.md)."""

from pydantic import Field, SecretStr

from system.common.settings import ListingSettings, Port, ServiceSettings, SqsSettings


class Settings(ServiceSettings, SqsSettings, ListingSettings):
    listen_port: Port = 9001
    order_db_host: str = "order-db"
    order_db_port: Port = 5432
    order_db_name: str = "orders"
    # The service's own role, owner of its database's public schema and nothing else; never the
    # administrator in postgres-secret (docs/services.md, "Database roles").
    order_db_user: str = "order_service"
    order_db_password: SecretStr = SecretStr("")
    inventory_service_url: str = "http://inventory-service:9000"
    inventory_timeout_seconds: float = 5.0
    # The whole of one POST /orders (pool waits, inventory, finalize) ends within this, well
    # inside the gateway's read timeout: a client is answered before the gateway gives up.
    order_deadline_seconds: float = 7.0
    # An order read (one or a page) ends within this: a slow order-db is answered 503, never
    # left to the gateway's read timeout.
    read_deadline_seconds: float = 5.0
    # An Idempotency-Key replays its order this long (a customer's own key: store.claim); then
    # the same key places a new order.
    idempotency_ttl_seconds: float = Field(default=24 * 3600, gt=0)
    # No order stays pending longer than this (reconciler.py); above the order deadline.
    pending_bound_seconds: float = 60.0
    reconcile_every_seconds: float = 5.0
    notification_service_url: str = "http://notification-service:9002"
    # Events sent this long ago without a notification are sent again (delivery.py).
    resend_undelivered_after_seconds: float = 30.0
    delivery_check_seconds: float = 10.0
    db_pool_size: int = 10
    # The relay also wakes immediately after each order; this is the fallback poll.
    outbox_poll_seconds: float = 1.0
    outbox_max_backoff_seconds: float = 10.0
    # How long the relay claims a batch it publishes; unset: from the SQS client's bound on a
    # send (relay.py, ~1 min). A claim left by a replica that died mid-publish waits this long.
    outbox_claim_seconds: float | None = None
