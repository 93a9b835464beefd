"""The routes anyone may call without the API key, the same locally and deployed: the app's
APIKeyMiddleware lets them through when API_KEY is set, and the CDK stack gives them API
Gateway methods without the key authorizer (infra/constructs/api.py). Liveness and readiness
for probes, the playground page (it asks for the key itself), and the API documentation:
Swagger UI, its script and style, and the schema it reads."""

from __future__ import annotations

from speech_api.api.routers.docs import ASSETS

OPEN_GET_ROUTES = (
    "/",
    "/health",
    "/ready",
    "/docs",
    *(f"/docs/{asset}" for asset in ASSETS),
    "/openapi.json",
)
# Probes (load balancers, uptime checks) often ask with HEAD.
OPEN_HEAD_ROUTES = ("/health",)
# Only in the app: SageMaker's health check of the GPU container (never routed by the gateway).
APP_ONLY_OPEN_ROUTES = ("/ping",)
