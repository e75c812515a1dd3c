"""api-gateway settings (names from system/CONTRACT.md)."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import NoDecode

from system.common.settings import Port, ServiceSettings


def _networks(value: object) -> object:
    """ "10.244.0.0/16, fd00::/8" -> the networks; a host address with a prefix is refused."""
    if not isinstance(value, str):
        return value
    networks = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        try:
            networks.append(ip_network(entry))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a network: {exc}") from exc
    return tuple(networks)


Networks = Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode, BeforeValidator(_networks)]


def _hosts(value: object) -> object:
    """ "a.example, b.example" -> the names."""
    if not isinstance(value, str):
        return value
    return tuple(filter(None, (part.strip() for part in value.split(","))))


Hosts = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_hosts)]


class Settings(ServiceSettings):
    listen_port: Port = 8080
    inventory_service_url: str = "http://inventory-service:9000"
    order_service_url: str = "http://order-service:9001"
    notification_service_url: str = "http://notification-service:9002"
    redis_host: str = "redis"
    redis_port: Port = 6379
    redis_password: SecretStr = SecretStr("")
    cache_ttl_seconds: float = Field(default=5.0, ge=0)
    # Requests per client per minute; 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    # The proxies whose X-Forwarded-For names the client: these networks (comma-separated), and
    # the addresses these names resolve to (comma-separated; resolved again every
    # TRUSTED_PROXY_REFRESH_SECONDS, for proxies that move: a headless Service of the ingress
    # controller's pods). Both empty: none, every client is its peer address, whatever it
    # writes in the header.
    trusted_proxy_cidrs: Networks = ()
    trusted_proxy_hosts: Hosts = ()
    trusted_proxy_refresh_seconds: float = Field(default=5.0, gt=0)
    # Redis is an optimisation here: a slow or absent Redis must cost at most this much.
    redis_timeout_seconds: float = 0.25
    # After a Redis failure, skip Redis for this long instead of paying the timeout each time.
    redis_cooldown_seconds: float = 5.0
    # Connections to Redis; when all are busy a call waits this long for one, then that one
    # request goes without Redis (without starting the cool-down: busy is not down).
    redis_max_connections: int = Field(default=100, ge=1)
    redis_pool_wait_seconds: float = Field(default=0.25, gt=0)
    # Requests served at once by one gateway process; beyond it a prompt 503 with Retry-After.
    # Twice the most any suite drives at one process (docs/services.md, "Why 400").
    max_concurrent_requests: int = Field(default=400, ge=1)
    upstream_connect_timeout_seconds: float = 1.0
    # Longer than order-service's own call to inventory-service, so its errors arrive first.
    upstream_read_timeout_seconds: float = 10.0
    upstream_max_connections: int = 200
    # Every n-th request to a backend retires its pooled connection, so that the Service's
    # per-connection balancing reaches every replica, new ones included; 0 never rotates.
    upstream_rotate_every: int = Field(default=20, ge=0)
