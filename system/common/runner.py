"""Runs a service under uvicorn with JSON logs and a graceful SIGTERM."""

import uvicorn
from fastapi import FastAPI

from system.common.logging import configure_logging
from system.common.settings import ServiceSettings


def serve(app: FastAPI, service: str, settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get graceful_shutdown_seconds to finish."""
    configure_logging(service, settings.app_version, settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run()
