"""Live transcription: `GET /v1/realtime?intent=transcription` upgrades to a WebSocket that
speaks OpenAI's Realtime transcription protocol (speech_api/realtime/, docs/realtime.md).

Before the upgrade: the API key (Authorization: Bearer, x-api-key, or the browser's
`openai-insecure-api-key.<key>` subprotocol), the intent and the model in the URL are checked;
a refusal is an HTTP answer with the usual JSON error (401, 400). After it: a session slot,
or an `error` event and close code 1013 when the process serves its maximum.
"""

from __future__ import annotations

import asyncio
import json
import logging

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from speech_api.api.keys import key_store, presented_key
from speech_api.errors import AuthenticationError, InvalidRequestError, SpeechAPIError

router = APIRouter(tags=["realtime"])
log = logging.getLogger(__name__)

PATH = "/v1/realtime"


def live_hub(settings, service):
    """What the app's live sessions share (made with the app; nothing starts until the first
    session, but the session-count metric, when configured, which reports zero too)."""
    from speech_api.realtime.hub import LiveHub

    hub = LiveHub(settings, service, key_store(settings))
    if settings.realtime.metrics_namespace:
        from speech_api.realtime.metrics import SessionMetrics

        hub.metrics = SessionMetrics(
            hub,
            settings.realtime.metrics_namespace,
            settings.realtime.metrics_service,
            settings.aws_region,
        ).start()
    return hub


async def _deny(websocket: WebSocket, error: SpeechAPIError) -> None:
    response = JSONResponse(
        {"error": error.to_dict()}, status_code=error.status_code, headers=error.headers()
    )
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:  # a server without the denial extension
        await websocket.close(code=1008, reason=error.message[:120])


@router.websocket(PATH)
async def realtime(websocket: WebSocket) -> None:
    hub = websocket.app.state.realtime
    offered = list(websocket.scope.get("subprotocols") or [])
    if not await hub.keys.allows(presented_key(websocket.headers, offered)):
        await _deny(
            websocket,
            AuthenticationError(
                "Missing or invalid API key. Send 'Authorization: Bearer <key>' (or, from a "
                "browser, the subprotocol 'openai-insecure-api-key.<key>')."
            ),
        )
        return
    intent = websocket.query_params.get("intent") or "transcription"
    if intent != "transcription":
        await _deny(
            websocket,
            InvalidRequestError(
                f"intent '{intent[:50]}' is not served here: this server runs transcription "
                "sessions only (?intent=transcription).",
                param="intent",
                code="invalid_value",
            ),
        )
        return
    model = websocket.query_params.get("model")
    if model:
        try:
            await asyncio.to_thread(hub.service.stt.engine, model)
        except SpeechAPIError as exc:
            await _deny(websocket, exc)
            return
    beta = websocket.headers.get("openai-beta", "").replace(" ", "").lower() == "realtime=v1"
    beta = beta or "openai-beta.realtime-v1" in offered
    await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
    # The engines' side (numpy, the VAD) only now: the light API function serves no sessions.
    from speech_api.realtime.connection import LiveConnection
    from speech_api.realtime.protocol import error_event

    if not hub.enter():
        await websocket.send_text(
            json.dumps(
                error_event(
                    {
                        "type": "server_error",
                        "code": "session_limit_reached",
                        "message": (
                            f"This server is transcribing its maximum of {hub.max_sessions} "
                            "live sessions. Try again shortly."
                        ),
                        "param": None,
                        "event_id": None,
                    }
                )
            )
        )
        await websocket.close(code=1013, reason="too many sessions; try again later")
        return

    why = "error"
    try:
        why = await LiveConnection(
            websocket, hub, dialect="beta" if beta else "ga", model=model
        ).run()
    finally:
        hub.leave(why)
        log.info("live session ended: %s (%d active)", why, hub.active)
