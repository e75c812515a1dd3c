"""notification-service settings (names from system/CONTRACT.md)."""

from pydantic import Field, SecretStr

from system.common.settings import ListingSettings, Port, ServiceSettings, SqsSettings


class Settings(ServiceSettings, SqsSettings, ListingSettings):
    listen_port: Port = 9002
    mongodb_host: str = "notification-db"
    mongodb_port: Port = 27017
    mongodb_database: str = "noti"
    mongodb_username: str = ""
    mongodb_password: SecretStr = SecretStr("")
    mongodb_auth_source: str = "admin"
    # Empty: the driver negotiates (SCRAM with mongo:7). FerretDB 1.x on SQLite (the offline
    # stand-in) only speaks PLAIN; PLAIN authenticates against "$external".
    mongodb_auth_mechanism: str = ""
    # SQS long polling: one receive waits up to this long for messages (20 is SQS's maximum).
    sqs_wait_seconds: int = Field(default=10, ge=0, le=20)
    # A listing ends within this, answered 503 by a database that does not answer: inside its
    # callers' read timeouts (order-service's delivery check 5 s, the gateway's 10 s).
    read_deadline_seconds: float = Field(default=4.0, gt=0)
    consumer_max_backoff_seconds: float = 10.0
    # The MongoDB client is stuck when its monitor reports no heartbeat for this long (it
    # reports one every 13 s at most while it runs: a check each 10 s, 3 s to connect): /healthz
    # fails, and the kubelet restarts the container (system/common/mongo_monitor.py).
    mongodb_monitor_silence_seconds: float = Field(default=60.0, gt=0)
