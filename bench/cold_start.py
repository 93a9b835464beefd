"""One Lambda cold start, in this fresh process: import the API handler, then the first
/health, /stt and /tts through it (each first request loads its model), and warm repeats to
separate model loading from inference. Prints one JSON line. Used by bench/run.py."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for devkit.events
started = time.perf_counter()
import handlers.api as api  # noqa: E402

import_s = time.perf_counter() - started

from devkit.events import rest_api_event  # noqa: E402
from devkit.lambda_context import LocalLambdaContext  # noqa: E402


def call(event: dict) -> float:
    t = time.perf_counter()
    response = api.handler(event, LocalLambdaContext())
    assert response["statusCode"] == 200, response
    return time.perf_counter() - t


def stt_event() -> dict:
    with open(sys.argv[1], "rb") as fh:
        return rest_api_event(
            "POST", "/stt", body=fh.read(), binary=True, headers={"Content-Type": "audio/wav"}
        )


def tts_event(text: str) -> dict:
    return rest_api_event(
        "POST",
        "/tts",
        body=json.dumps({"text": text}),
        headers={"Content-Type": "application/json"},
    )


health = call(rest_api_event("GET", "/health"))
stt = call(stt_event())
stt_warm = call(stt_event())
tts = call(tts_event("Cold start."))
tts_warm = call(tts_event("Warm start now."))
print(
    json.dumps(
        {
            "import_s": import_s,
            "first_health_s": import_s + health,
            "first_stt_s": import_s + health + stt,
            "stt_model_load_s": stt - stt_warm,
            "first_tts_after_stt_s": tts,
            "tts_model_load_s": tts - tts_warm,
        }
    )
)
