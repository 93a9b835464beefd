"""Synthesized audio kept in the bucket's public prefix, so the same `/tts` request is a cache
hit: content-addressed keys, and a check that a stored object is audio this service wrote."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from speech_api.formats import OUTPUT_FORMATS
from speech_api.storage import ObjectStorage

if TYPE_CHECKING:
    from speech_api.audio import EncodedAudio

# Bump when the synthesis pipeline changes audibly, so cached objects are not reused.
# 2: text is read in its spoken form (numbers, dates, URLs, Markdown: speech_api.text).
_TTS_CACHE_VERSION = 2
# Word timings of the longest text (4,096 characters) take well under this.
_MAX_WORDS_BYTES = 1024 * 1024


def tts_object_key(
    prefix: str,
    *,
    text: str,
    engine: str,
    voice: str,
    model: str,
    fmt: str,
    speed: float,
    text_type: str = "text",
) -> str:
    """A content-addressed key: everything that changes the audio goes into the hash, and no
    user text ever appears in the key itself."""
    material = json.dumps(
        {
            "v": _TTS_CACHE_VERSION,
            "text": text,
            "text_type": text_type,
            "engine": engine,
            "voice": voice,
            "model": model,
            "format": fmt,
            "speed": round(speed, 4),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"{prefix}tts/{digest}.{OUTPUT_FORMATS[fmt].extension}"


@dataclass(frozen=True)
class CachedSpeech:
    duration_s: float
    sample_rate: int


class TTSCache:
    """``secret`` (TTS_CACHE_SECRET) signs what is stored; without one (AWS, where only the
    TTS role may write the prefix) an object with our metadata is trusted."""

    def __init__(self, storage: ObjectStorage, *, prefix: str, secret: SecretStr | None):
        self.storage = storage
        self.prefix = prefix
        self._secret = secret

    def key(
        self,
        *,
        text: str,
        engine: str,
        voice: str,
        model: str,
        fmt: str,
        speed: float,
        text_type: str = "text",
    ):
        return tts_object_key(
            self.prefix,
            text=text,
            engine=engine,
            voice=voice,
            model=model,
            fmt=fmt,
            speed=speed,
            text_type=text_type,
        )

    def url(self, key: str) -> str:
        return self.storage.public_url(key)

    def get(self, key: str) -> CachedSpeech | None:
        """The stored audio's figures, or None when it is missing or not trusted."""
        existing = self.storage.stat(key)
        if existing is None or not self._trusted(key, existing.etag, existing.metadata):
            return None
        return CachedSpeech(
            duration_s=float(existing.metadata["duration-s"]),
            sample_rate=int(existing.metadata["sample-rate"]),
        )

    def put(self, key: str, encoded: EncodedAudio, *, engine: str, voice: str) -> None:
        extra = {"engine": engine, "voice": voice}
        self._put(key, encoded.data, encoded.content_type, encoded, extra)

    def caption_keys(self, key: str) -> dict[str, str]:
        """Where the captions of the audio at ``key`` are kept: beside it, same stem."""
        stem = key.rsplit(".", 1)[0]
        return {"words": f"{stem}.words.json", "srt": f"{stem}.srt", "vtt": f"{stem}.vtt"}

    def caption_urls(self, key: str) -> dict[str, str]:
        """The public URLs of the captions of the audio at ``key`` (srt, vtt)."""
        return {name: self.url(k) for name, k in self.caption_keys(key).items() if name != "words"}

    def get_words(self, key: str) -> list[dict] | None:
        """The word timings stored with the audio at ``key``, or None when missing or not
        trusted (then the speech is made again, with them)."""
        words_key = self.caption_keys(key)["words"]
        stored = self.storage.get(words_key, max_bytes=_MAX_WORDS_BYTES)
        if stored is None or not self._trusted(words_key, stored.etag, stored.metadata):
            return None
        try:
            return json.loads(stored.data)["words"]
        except (ValueError, KeyError, TypeError):
            return None

    def put_captions(
        self, key: str, words: list[dict], *, srt: str, vtt: str, encoded: EncodedAudio
    ) -> None:
        """The word timings (JSON) and SRT/WebVTT captions of the audio at ``key``; written
        before the audio, so audio that is found always has the captions it was made with."""
        keys = self.caption_keys(key)
        files = {
            "words": (json.dumps({"words": words}).encode(), "application/json"),
            "srt": (srt.encode(), "application/x-subrip; charset=utf-8"),
            "vtt": (vtt.encode(), "text/vtt; charset=utf-8"),
        }
        for name, (data, content_type) in files.items():
            self._put(keys[name], data, content_type, encoded, {})

    def metadata(
        self, key: str, etag: str, *, duration_s: float, sample_rate: int, engine: str, voice: str
    ) -> dict[str, str]:
        """The metadata of audio stored at ``key`` by other means than `put` (a speech job's
        multipart upload, copied into place), signed over ``etag`` (the MD5 of its bytes)."""
        metadata = {
            "duration-s": f"{duration_s}",
            "sample-rate": f"{sample_rate}",
            "engine": engine,
            "voice": voice,
        }
        if (signature := self._signature(key, etag, metadata)) is not None:
            metadata["signature"] = signature
        return metadata

    def _put(
        self,
        key: str,
        data: bytes,
        content_type: str,
        encoded: EncodedAudio,
        extra: dict[str, str],
    ) -> None:
        metadata = {
            "duration-s": f"{encoded.duration_s}",
            "sample-rate": f"{encoded.sample_rate}",
            **extra,
        }
        # A single PutObject's ETag is the MD5 of its bytes: signing it binds the signature
        # to exactly these bytes.
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if (signature := self._signature(key, etag, metadata)) is not None:
            metadata["signature"] = signature
        self.storage.put(key, data, content_type=content_type, metadata=metadata)

    def _signature(self, key: str, etag: str, metadata: dict[str, str]) -> str | None:
        if self._secret is None:
            return None
        signed = "\n".join([key, etag, metadata["duration-s"], metadata["sample-rate"]])
        return hmac.new(
            self._secret.get_secret_value().encode(), signed.encode(), hashlib.sha256
        ).hexdigest()

    def _trusted(self, key: str, etag: str, metadata: dict[str, str]) -> bool:
        """Whether a stored object is audio this service wrote: with a secret, its signature
        must match its ETag and the figures we would report; otherwise its metadata must be
        ours."""
        if "duration-s" not in metadata or "sample-rate" not in metadata:
            return False
        expected = self._signature(key, etag, metadata)
        return expected is None or hmac.compare_digest(expected, metadata.get("signature", ""))
