"""python -m system.api_gateway"""

from system.common.sigterm import exit_on_sigterm

# First, before the imports that take a second: as PID 1 the process would ignore SIGTERM.
exit_on_sigterm()

from system.api_gateway.config import Settings  # noqa: E402
from system.api_gateway.main import SERVICE, create_app  # noqa: E402
from system.common.runner import serve  # noqa: E402

settings = Settings()
serve(create_app(settings), SERVICE, settings)
