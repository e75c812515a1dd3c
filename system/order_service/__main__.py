"""python -m system.order_service"""

from system.common.runner import serve
from system.order_service.config import Settings
from system.order_service.main import SERVICE, create_app

settings = Settings()
serve(create_app(settings), SERVICE, settings)
