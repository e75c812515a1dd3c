"""python -m system.notification_service"""

from system.common.runner import serve
from system.notification_service.config import Settings
from system.notification_service.main import SERVICE, create_app

settings = Settings()
serve(create_app(settings), SERVICE, settings)
