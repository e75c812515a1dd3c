"""inventory-service settings (names from system/CONTRACT.md)."""

from pydantic import Field, SecretStr

from system.common.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    listen_port: Port = 9000
    inventory_db_host: str = "inventory-db"
    inventory_db_port: Port = 5432
    inventory_db_name: str = "inventory"
    # The service's own role, owner of its database's public schema and nothing else; never the
    # administrator in postgres-secret (docs/services.md, "Database roles").
    inventory_db_user: str = "inventory_service"
    inventory_db_password: SecretStr = SecretStr("")
    db_pool_size: int = 10
    # A read (a product, the catalogue, a reservation) ends within this, answered 503 by a
    # database that does not answer: inside order-service's inventory timeout (5 s) and the
    # gateway's read timeout (10 s), so each caller hears the 503 before it gives up.
    read_deadline_seconds: float = Field(default=4.0, gt=0)
    # A reservation or a release ends within this, for the same callers: answered 503 ("the
    # outcome is unknown"), and the same key gives the outcome later (both are idempotent).
    write_deadline_seconds: float = Field(default=4.0, gt=0)
