"""Liveness, readiness, SageMaker's health check, and the playground page."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from speech_api import __version__
from speech_api.api.deps import SettingsDep, SpeechDep, offload
from speech_api.errors import SpeechAPIError
from speech_api.schemas import ErrorResponse, HealthResponse

router = APIRouter(tags=["service"])

_PLAYGROUND = (files("speech_api.api") / "static" / "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def playground(settings: SettingsDep) -> HTMLResponse:
    """A small page to try both directions in a browser (no build step, no CDN). It warns
    before the audio limit, so it is told the limit."""
    return HTMLResponse(
        _PLAYGROUND.replace("__MAX_AUDIO_SECONDS__", f"{settings.max_audio_seconds:g}")
    )


# HEAD too: load balancers and uptime probes often ask with HEAD. Its own route, out of the
# schema: one route with both methods gives both operations one ID (FastAPI warns).
@router.head("/health", include_in_schema=False)
@router.get("/health", response_model=HealthResponse)
async def health(settings: SettingsDep, service: SpeechDep) -> HealthResponse:
    # async: answered on the event loop, never queued behind inference threads.
    return HealthResponse(
        status="ok",
        version=__version__,
        stt_model=settings.stt.model,
        tts_engine=settings.tts.engine,
        loaded_models=service.models.loaded(),
    )


@router.get("/ready", responses={503: {"model": ErrorResponse}})
async def ready(settings: SettingsDep, service: SpeechDep) -> JSONResponse:
    """Readiness: loads the engines this process serves (PRELOAD_MODELS; once) and reports
    each; 503 if any cannot load. /health stays a cheap liveness check."""
    engines: dict[str, str] = {}
    loaders = {"stt": service.models.stt, "tts": service.models.tts}
    loaders = {name: load for name, load in loaders.items() if name in settings.served_engines()}
    if service.remote_tts and "tts" in loaders:
        engines["tts"] = "remote"
        del loaders["tts"]
    for name, load in loaders.items():
        try:
            await offload(load)
            engines[name] = "ready"
        except SpeechAPIError as exc:
            engines[name] = exc.message
    ok = all(v in ("ready", "remote") for v in engines.values())
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "engines": dict(sorted(engines.items()))},
        status_code=200 if ok else 503,
    )


# SageMaker's container contract (GPU option): health on GET /ping, work on POST /invocations.
@router.api_route("/ping", methods=["GET", "HEAD"], include_in_schema=False)
def ping() -> dict:
    return {"status": "ok"}
