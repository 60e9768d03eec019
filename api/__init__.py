"""REST + WebSocket API under /api/v1: a thin door onto the service layer."""

from api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
