"""python -m system.notification_service"""

from system.common.sigterm import exit_on_sigterm

# First, before the imports that take a second: as PID 1 the process would ignore SIGTERM.
exit_on_sigterm()

from system.common.runner import serve  # noqa: E402
from system.notification_service.config import Settings  # noqa: E402
from system.notification_service.main import SERVICE, create_app  # noqa: E402

settings = Settings()
serve(create_app(settings), SERVICE, settings)
