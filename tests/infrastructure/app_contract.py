"""The app as the gateway must serve it. The one place the infrastructure tests import the app
(its modules may move; only these imports change)."""

from __future__ import annotations

from functools import cache

from speech_api.api import create_app
from speech_api.config import Settings

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Served by the app but not in its OpenAPI schema: the playground, the docs (Swagger UI, its
# script and style, the schema), and HEAD /health for probes.
UNDOCUMENTED = [
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/docs/swagger-ui-bundle.js"),
    ("GET", "/docs/swagger-ui.css"),
    ("GET", "/openapi.json"),
    ("HEAD", "/health"),
]


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


def open_without_key(method: str, path: str) -> bool:
    """Whether the app, with API_KEY set, answers this request without a key (not 401)."""
    return _keyed_client().request(method, path).status_code != 401


@cache
def _keyed_client():
    from fastapi.testclient import TestClient

    # As the Api function runs (PRELOAD_MODELS=none: /ready loads no model).
    settings = Settings(_env_file=None, api_key="the-key", preload_models="none")
    return TestClient(create_app(settings))
