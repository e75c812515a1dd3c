"""The settings every service shares; each service subclasses it with its own variables.

Variable names follow system/CONTRACT.md, which fixes them without a per-service prefix.
"""

from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _port_number(value: object) -> object:
    """Accept "5432" and also Kubernetes' service-link form "tcp://10.0.0.7:5432"."""
    if isinstance(value, str) and "://" in value:
        return value.rsplit(":", 1)[-1]
    return value


Port = Annotated[int, BeforeValidator(_port_number), Field(ge=1, le=65535)]


class ServiceSettings(BaseSettings):
    """Process-wide settings: version, logging, where to listen, how to shut down."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    app_version: str = "0.0.0-dev"
    log_level: str = "INFO"
    listen_host: str = "0.0.0.0"
    listen_port: Port = 8000
    # In-flight requests get this long to finish after SIGTERM (the pod's grace period is longer).
    graceful_shutdown_seconds: float = 20.0
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # A body not complete this long after its headers is answered 408 (a slow client).
    request_body_timeout_seconds: float = Field(default=10.0, gt=0)


class SqsSettings(BaseSettings):
    """The SQS endpoint (LocalStack in the drawing) and queue, shared by producer and consumer."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    sqs_queue_name: str = "order-events"
    aws_endpoint_url: str = ""
    aws_default_region: str = "us-east-1"
    aws_access_key_id: str = ""
    aws_secret_access_key: SecretStr = SecretStr("")


class ListingSettings(BaseSettings):
    """The token that shows customers' full e-mails in listings (system/common/listing_access.py);
    empty: none does, every e-mail is masked."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    listing_token: SecretStr = SecretStr("")
