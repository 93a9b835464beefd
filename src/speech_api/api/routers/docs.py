"""`/docs`: Swagger UI, from this package's own copy (api/static/swagger-ui), so the page works
with no network: FastAPI's default loads its script and style from a CDN, and offline (or on a
locked-down network) it is a blank page. Served the same way locally and behind API Gateway,
where these routes are open like `/docs` itself (api/open_routes.py)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

SWAGGER_UI_VERSION = "5.36.0"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    # Behind API Gateway the page is at /prod/docs: root_path carries the stage.
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}/docs/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
        swagger_css_url=f"{root}/docs/swagger-ui.css?v={SWAGGER_UI_VERSION}",
        swagger_favicon_url="data:,",  # no icon rather than one from the internet
    )


def _asset_route(asset: str, media_type: str) -> None:
    @router.get(f"/docs/{asset}", name=f"swagger_ui_{asset}")
    def serve_asset() -> Response:
        return Response(
            _read(asset), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )


for _asset, _media_type in ASSETS.items():
    _asset_route(_asset, _media_type)


@cache
def _read(asset: str) -> bytes:
    return (files("speech_api.api") / "static" / "swagger-ui" / asset).read_bytes()
