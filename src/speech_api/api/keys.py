"""Which API keys a caller may use, from one key store.

- Locally, the one key of ``API_KEY`` (what every route checks).
- Deployed, the REST API's own keys: API Gateway's API keys in the stack's usage plan
  (``API_KEYS_USAGE_PLAN``), the same keys the REST API's authorizer passes on, so the live
  transcription service on ECS needs no second secret. They are read with the API Gateway API
  (GetUsagePlanKeys, then GetApiKeys for the values of enabled keys), kept as SHA-256 digests
  and read again every minute, or on an unknown key at most every few seconds (a key created
  a moment ago works without waiting for the minute, and unknown keys cannot make every
  connection call AWS).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

log = logging.getLogger(__name__)

REFRESH_S = 60.0
UNKNOWN_KEY_REFRESH_S = 5.0


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyStore:
    """Checks a presented key; `required` False means no key is configured (all allowed)."""

    required = True

    async def allows(self, key: str | None) -> bool:
        raise NotImplementedError


class NoKeys(KeyStore):
    required = False

    async def allows(self, key: str | None) -> bool:
        return True


class StaticKey(KeyStore):
    def __init__(self, key: str):
        self._digest = _digest(key)

    async def allows(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(_digest(key), self._digest)


class UsagePlanKeys(KeyStore):
    """The enabled API keys of one API Gateway usage plan."""

    def __init__(self, usage_plan_id: str, client_factory):
        self.usage_plan_id = usage_plan_id
        self._client_factory = client_factory
        self._digests: set[bytes] = set()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def allows(self, key: str | None) -> bool:
        if not key:
            return False
        now = time.monotonic()
        if now - self._loaded_at > REFRESH_S:
            await self._refresh()
        if self._match(key):
            return True
        if time.monotonic() - self._loaded_at > UNKNOWN_KEY_REFRESH_S:
            await self._refresh()
            return self._match(key)
        return False

    def _match(self, key: str) -> bool:
        digest = _digest(key)
        return any(hmac.compare_digest(digest, known) for known in self._digests)

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                self._digests = await asyncio.to_thread(self._load)
            except Exception:
                # Keep the last good set (AWS briefly unreachable must not lock everyone
                # out); try again after the short interval.
                log.warning("could not read the usage plan's API keys", exc_info=True)
                self._loaded_at = time.monotonic() - REFRESH_S + UNKNOWN_KEY_REFRESH_S
                return
            self._loaded_at = time.monotonic()

    def _load(self) -> set[bytes]:
        client = self._client_factory()
        ids: set[str] = set()
        for page in client.get_paginator("get_usage_plan_keys").paginate(
            usagePlanId=self.usage_plan_id
        ):
            ids.update(item["id"] for item in page.get("items", []))
        digests = set()
        for page in client.get_paginator("get_api_keys").paginate(includeValues=True):
            for item in page.get("items", []):
                if item.get("id") in ids and item.get("enabled") and item.get("value"):
                    digests.add(_digest(item["value"]))
        return digests


def key_store(settings) -> KeyStore:
    """The key store these settings name: the usage plan's keys, else API_KEY, else none."""
    plan = getattr(settings, "api_keys_usage_plan", None)
    if plan:
        import boto3

        region = settings.aws_region

        def client():
            return boto3.client("apigateway", region_name=region)

        return UsagePlanKeys(plan, client)
    if settings.api_key:
        return StaticKey(settings.api_key)
    return NoKeys()


def presented_key(headers, subprotocols: list[str]) -> str | None:
    """The key a WebSocket client presents: `Authorization: Bearer` (the OpenAI SDK),
    `x-api-key` (as the REST API takes it), or, from browsers (which cannot set headers on a
    WebSocket), the subprotocol `openai-insecure-api-key.<key>` as OpenAI's own browser
    clients send it."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if headers.get("x-api-key", "").strip():
        return headers["x-api-key"].strip()
    for protocol in subprotocols:
        if protocol.startswith("openai-insecure-api-key."):
            return protocol.removeprefix("openai-insecure-api-key.")
    return None
