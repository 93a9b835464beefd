"""The app as the gateway must serve it. The one place the infrastructure tests import the app
(its modules may move; only these imports change)."""

from __future__ import annotations

from speech_api.api import create_app
from speech_api.config import Settings

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Served by the app but not in its OpenAPI schema: the playground, FastAPI's own docs, and
# HEAD /health for probes.
UNDOCUMENTED = [("GET", "/"), ("GET", "/docs"), ("GET", "/openapi.json"), ("HEAD", "/health")]


def app_operations() -> list[tuple[str, str]]:
    """(method, path template) for every operation the app serves."""
    schema = create_app(Settings(_env_file=None)).openapi()
    documented = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]
    return sorted(set(documented) | set(UNDOCUMENTED))
