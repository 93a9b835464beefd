"""A speech job's audio: each part synthesized to raw PCM, then all parts encoded as one
stream into a multipart upload, and published by one copy.

Joins are seamless by design: parts are cut at sentence ends (text/parts.py) and kept as raw
16-bit PCM, which joins sample-exactly; the encoder then sees one continuous signal, so no
codec frame, priming delay or padding falls at a join (encoding each part to MP3 or Ogg and
concatenating them would put a gap of encoder delay and padding at every join). Captions are
re-timed by each part's offset in samples.

numpy and PyAV are imported where audio is made (the light API function imports this module
with the job service, and has neither).

Nothing half-made is ever public: audio up to SINGLE_PUT_BYTES is published whole by one
PutObject; longer audio goes to a private staging key as a multipart upload (parts of
MULTIPART_CHUNK_BYTES), and only once it is complete is it copied, with its metadata, to the
public key. Memory is bounded either way: about SINGLE_PUT_BYTES and one part's audio,
whatever the length."""

from __future__ import annotations

import contextlib
import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from speech_api.engines import TextToSpeech
from speech_api.engines.base import WordTiming
from speech_api.errors import InvalidRequestError, StorageUnavailableError
from speech_api.formats import OUTPUT_FORMATS
from speech_api.service import narration
from speech_api.service.speech_job_store import DonePart, SpeechJobStore
from speech_api.storage import ObjectStorage
from speech_api.subtitles import captions_srt, captions_vtt
from speech_api.text import Script
from speech_api.tts_cache import TTSCache

# Audio up to this size is encoded in memory and published by one PutObject (about 19
# minutes of 22 kHz WAV, hours of MP3: a 12,000-character job's WAV is 28 MB): a multipart
# upload of the same bytes and its copy into place took 0.37 of 0.45 s of a job's assembly
# with the embedded S3. Longer audio streams through the multipart upload, in flat memory.
SINGLE_PUT_BYTES = 48 * 1024 * 1024
# S3 multipart parts must be at least 5 MiB (but the last).
MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024
# CopyObject copies up to 5 GB in one request; a job's audio is far below (200,000
# characters are about 3 hours: 480 MB of WAV).
MAX_COPY_BYTES = 5 * 1024**3


@dataclass(frozen=True)
class PartAudio:
    pcm: bytes  # 16-bit little-endian mono
    sample_rate: int
    words: list[dict]


def synthesize_part(
    engine: TextToSpeech,
    script: Script,
    *,
    voice: str,
    speed: float,
    speeds: tuple[float, float],
    words: bool,
) -> PartAudio:
    """``speeds``: those the engine makes (its spec's)."""
    import numpy as np

    speech = narration.speak(engine, script, voice=voice, speed=speed, speeds=speeds, words=words)
    pcm = (np.clip(speech.samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    timings = [
        {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)} for w in speech.words
    ]
    return PartAudio(pcm=pcm, sample_rate=speech.sample_rate, words=timings)


@dataclass(frozen=True)
class Assembled:
    key: str
    duration_s: float
    sample_rate: int  # of the encoded audio
    content_type: str
    captions: dict[str, str] | None  # name -> public key


def assemble(
    store: SpeechJobStore,
    cache: TTSCache,
    job_id: str,
    parts: list[DonePart],
    *,
    key: str,
    fmt: str,
    engine: str,
    voice: str,
    captions: bool,
) -> Assembled:
    """Encode ``parts`` (every part, in order) into the audio at ``key``, with captions."""
    rates = {p.sample_rate for p in parts}
    if len(rates) != 1:
        raise InvalidRequestError(f"The job's parts were made at different rates: {rates}.")
    rate = rates.pop()
    total_samples = sum(p.bytes // 2 for p in parts)
    spec = OUTPUT_FORMATS[fmt]
    duration_s = round(total_samples / rate, 3)
    encoded_rate = spec.sample_rate or rate
    chunks = _encoded(store, job_id, parts, fmt, rate, total_samples)
    head, whole = _read_up_to(chunks, SINGLE_PUT_BYTES)
    if whole:  # one PutObject publishes it (nothing to copy)
        data = b"".join(head)
        del head
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()

        def publish(metadata: dict) -> None:
            store.storage.put(key, data, content_type=spec.content_type, metadata=metadata)

    else:
        staging = store.staging_key(job_id, spec.extension)
        size, md5 = _staged(store.storage, staging, spec.content_type, _drained(head, chunks))
        if size > MAX_COPY_BYTES:
            raise InvalidRequestError(
                f"The job's audio is {size} bytes; at most 5 GB can be stored."
            )

        def publish(metadata: dict) -> None:
            _copy(store.storage, staging, key, spec.content_type, metadata)

    caption_keys = None
    if captions:  # before the audio: whoever finds the audio finds its captions
        caption_keys = _captions(store, cache, job_id, parts, key, rate, duration_s, encoded_rate)
    publish(
        cache.metadata(
            key, md5, duration_s=duration_s, sample_rate=encoded_rate, engine=engine, voice=voice
        )
    )
    return Assembled(key, duration_s, encoded_rate, spec.content_type, caption_keys)


def _read_up_to(chunks: Iterator[bytes], limit: int) -> tuple[deque[bytes], bool]:
    """The chunks' first ones, past ``limit`` bytes at most by one chunk, and whether that
    was all of them."""
    head: deque[bytes] = deque()
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > limit:
            return head, False
    return head, True


def _drained(head: deque[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """``head``'s chunks, each let go of as it is taken, then ``rest``'s."""
    while head:
        yield head.popleft()
    yield from rest


def _staged(
    storage: ObjectStorage, staging: str, content_type: str, chunks: Iterator[bytes]
) -> tuple[int, str]:
    """``chunks`` as one multipart upload at ``staging``: (size, MD5 hex)."""
    upload = MultipartUpload(storage, staging, content_type)
    try:
        for chunk in chunks:
            upload.write(chunk)
        return upload.complete()
    except BaseException:
        upload.abort()
        raise


def _encoded(
    store: SpeechJobStore, job_id: str, parts: list[DonePart], fmt: str, rate: int, samples: int
) -> Iterator[bytes]:
    """The parts' PCM read one at a time and encoded as one stream."""
    spec = OUTPUT_FORMATS[fmt]
    if spec.container in ("", "wav"):
        if spec.name == "wav":
            from speech_api.audio.encode import _wav_header

            yield _wav_header(rate, samples * 2)
        for part in parts:
            yield store.read_part(job_id, part)
        return
    import numpy as np

    from speech_api.audio import StreamEncoder

    encoder = StreamEncoder(fmt, rate)
    for part in parts:
        pcm = np.frombuffer(store.read_part(job_id, part), dtype="<i2")
        yield encoder.feed(pcm.astype(np.float32) / 32767.0)
    yield encoder.close()


def _captions(
    store: SpeechJobStore,
    cache: TTSCache,
    job_id: str,
    parts: list[DonePart],
    key: str,
    rate: int,
    duration_s: float,
    encoded_rate: int,
) -> dict[str, str]:
    """Every part's words, shifted by the audio before the part, as SRT and WebVTT."""
    timings: list[WordTiming] = []
    words: list[dict] = []
    offset = 0.0
    for part in parts:
        for w in store.words(job_id, part):
            start, end = round(w["start"] + offset, 3), round(w["end"] + offset, 3)
            words.append({"word": w["word"], "start": start, "end": end})
            timings.append(WordTiming(word=w["word"], start=start, end=end))
        offset += (part.bytes // 2) / rate
    from speech_api.audio import EncodedAudio

    figures = EncodedAudio(b"", "", sample_rate=encoded_rate, duration_s=duration_s)
    cache.put_captions(
        key, words, srt=captions_srt(timings), vtt=captions_vtt(timings), encoded=figures
    )
    return {name: k for name, k in cache.caption_keys(key).items() if name != "words"}


class MultipartUpload:
    """Bytes written in order into one object, in parts of MULTIPART_CHUNK_BYTES; nothing is
    visible at the key until `complete` (an aborted upload leaves nothing)."""

    def __init__(self, storage: ObjectStorage, key: str, content_type: str):
        self.storage = storage
        self.key = key
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0
        self._upload_id = self._call(
            "CreateMultipartUpload",
            lambda c: c.create_multipart_upload(
                Bucket=storage.bucket, Key=key, ContentType=content_type
            ),
        )["UploadId"]

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= MULTIPART_CHUNK_BYTES:
            self._send(bytes(self._buffer[:MULTIPART_CHUNK_BYTES]))
            del self._buffer[:MULTIPART_CHUNK_BYTES]

    def complete(self) -> tuple[int, str]:
        """(size in bytes, MD5 hex of the whole object)."""
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._call(
            "CompleteMultipartUpload",
            lambda c: c.complete_multipart_upload(
                Bucket=self.storage.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            ),
        )
        self._upload_id = None
        return self._size, self._md5.hexdigest()

    def abort(self) -> None:
        if self._upload_id is None:
            return
        # If this fails too, the bucket's lifecycle rule removes what is left.
        with contextlib.suppress(Exception):
            self.storage.client.abort_multipart_upload(
                Bucket=self.storage.bucket, Key=self.key, UploadId=self._upload_id
            )
        self._upload_id = None

    def _send(self, data: bytes) -> None:
        number = len(self._parts) + 1
        self._md5.update(data)
        self._size += len(data)
        response = self._call(
            "UploadPart",
            lambda c: c.upload_part(
                Bucket=self.storage.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
            ),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def _call(self, operation: str, call):
        try:
            return call(self.storage.client)
        except Exception as exc:
            raise StorageUnavailableError(
                f"Object storage is unavailable ({operation}: {type(exc).__name__})."
            ) from exc


def _copy(storage: ObjectStorage, source: str, key: str, content_type: str, metadata: dict) -> None:
    """Publish: one CopyObject, so the public key has the whole audio or nothing."""
    try:
        storage.client.copy_object(
            Bucket=storage.bucket,
            Key=key,
            CopySource={"Bucket": storage.bucket, "Key": source},
            MetadataDirective="REPLACE",
            Metadata=metadata,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )
    except Exception as exc:
        raise StorageUnavailableError(
            f"Object storage is unavailable (CopyObject: {type(exc).__name__})."
        ) from exc
