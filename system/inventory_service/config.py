"""inventory-service settings (names from system/CONTRACT.md)."""

from pydantic import SecretStr

from system.common.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    listen_port: Port = 9000
    inventory_db_host: str = "inventory-db"
    inventory_db_port: Port = 5432
    inventory_db_name: str = "inventory"
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    db_pool_size: int = 10
