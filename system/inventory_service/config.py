"""inventory-service settings (names from system/CONTRACT.md)."""

from pydantic import SecretStr

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
