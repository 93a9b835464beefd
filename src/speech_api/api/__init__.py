"""The HTTP layer: the app factory, one router module per area, middleware, error mapping."""

from speech_api.api.app import create_app

__all__ = ["create_app"]
