"""Memory under concurrent speech (hardening round 4), against a running `speech-api serve`:
48 concurrent /tts, all admitted, stay within +300 MB of the warm server. On main three
bursts of 16 took it from 426 to 1,200 MB: each request synthesized sentence by sentence
through the engine's slots, so all of them held their growing audio at once. Now at most one
whole synthesis per core is in progress; the rest wait with their text only."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.s3 import serve_on_test_s3

IN_FLIGHT = 48


def texts(tag: str) -> list[str]:
    return [
        f"Request {i} of burst {tag} is spoken now. It has two sentences, and the second one "
        f"runs a little longer than the first, so that its audio matters."
        for i in range(IN_FLIGHT)
    ]


@pytest.mark.xfail(
    strict=True,
    reason="issue 32 point 9, not met yet: measured +677 MB (227 -> 904 MB) with one whole "
    "synthesis per core; the memory is not in the waiting requests (MALLOC_ARENA_MAX=2: +330 MB "
    "over a higher floor). Strict: this fails the suite the day the bound holds.",
)
def test_48_concurrent_syntheses_stay_within_300_mb_of_the_warm_server(
    make_settings, s3_endpoint, model_cache_dir, tmp_path
):
    env = {
        "PRELOAD_MODELS": "tts",
        # Every one is let in: the work in flight is what must be bounded, not the door.
        "MAX_CONCURRENT_REQUESTS": str(IN_FLIGHT + 16),
        # Not what this test measures: room for a busy machine.
        "TTS_TIME_LIMIT_S": "600",
    }
    with serve_on_test_s3(tmp_path, model_cache_dir, s3_endpoint, **env) as server:

        def speak(text: str) -> httpx.Response:
            return httpx.post(f"{server.base_url}/tts", json={"text": text}, timeout=900)

        def burst(tag: str) -> list[httpx.Response]:
            with ThreadPoolExecutor(IN_FLIGHT) as pool:
                return list(pool.map(speak, texts(tag)))

        for r in burst("warm-up")[:4]:
            assert r.status_code == 200, r.text
        time.sleep(3)
        warm = server.rss_mb()
        server.reset_peak()
        answers = [*burst("one"), *burst("two")]
        peak = server.peak_rss_mb()
    assert [r.status_code for r in answers] == [200] * (2 * IN_FLIGHT), answers[0].text
    assert peak - warm < 300, (warm, peak)
