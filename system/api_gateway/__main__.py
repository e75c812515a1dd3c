"""python -m system.api_gateway"""

from system.api_gateway.config import Settings
from system.api_gateway.main import SERVICE, create_app
from system.common.runner import serve

settings = Settings()
serve(create_app(settings), SERVICE, settings)
