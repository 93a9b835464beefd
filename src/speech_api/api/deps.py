"""What routes get injected: the app's settings and services (built once in create_app), and a
way to run blocking work (model inference, S3 calls) off the event loop."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from speech_api.config import Settings
from speech_api.service import SpeechService, UploadService


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _speech(request: Request) -> SpeechService:
    return request.app.state.service


def _uploads(request: Request) -> UploadService:
    return request.app.state.uploads


SettingsDep = Annotated[Settings, Depends(_settings)]
SpeechDep = Annotated[SpeechService, Depends(_speech)]
UploadsDep = Annotated[UploadService, Depends(_uploads)]


async def offload(fn, /, *args, **kwargs):
    """Blocking work on the thread pool. No global lock: CTranslate2 queues concurrent
    transcriptions itself, and cache hits never wait behind inference."""
    return await run_in_threadpool(partial(fn, *args, **kwargs))
