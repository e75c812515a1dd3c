"""python -m system.inventory_service"""

from system.common.runner import serve
from system.inventory_service.config import Settings
from system.inventory_service.main import SERVICE, create_app

settings = Settings()
serve(create_app(settings), SERVICE, settings)
