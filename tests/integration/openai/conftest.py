"""The official `openai` SDK against a real Uvicorn server: `openai_url` is the keyed server
(a module that needs other settings overrides this one fixture) and `openai_client` the SDK
pointed at it."""

from __future__ import annotations

import openai
import pytest

from tests.support.live_server import API_KEY


@pytest.fixture(scope="module")
def openai_url(keyed_url) -> str:
    return keyed_url


@pytest.fixture(scope="module")
def openai_client(openai_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{openai_url}/v1", api_key=API_KEY, max_retries=0, timeout=120)
