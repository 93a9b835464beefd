"""Live transcription sessions for `make soak` (bench/soak.py runs them beside its HTTP load):

- `live_load`: sessions streaming dev clips back to back at real-time pace; every turn must get
  its `completed` transcript (a turn without one, or an `error` event, is an error);
- `live_hostile`: the hostile clients of docs/realtime.md, each expecting its documented answer
  (error events for malformed JSON, unknown events, binary frames and bad base64; close 1009 for
  an oversized message; close 1013 past the session limit; a session for a client that never
  reads ended by the server), plus a session appending audio as fast as the socket takes it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time

import numpy as np

COMPLETED = "conversation.item.input_audio_transcription.completed"


def _ws(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/realtime?intent=transcription"


def _pcm(clips) -> list[bytes]:
    from speech_api.audio import decode_audio
    from speech_api.audio.pcm import PCM24K, encode_stream

    out = []
    for clip in clips:
        samples = decode_audio(clip.read(), max_seconds=60).samples
        pad = np.zeros(16000, np.float32)
        out.append(encode_stream(np.concatenate([pad, samples, pad]), 16000, PCM24K))
    return out


def _note(table: dict, key: str) -> None:
    table[key] = table.get(key, 0) + 1


async def _open(url: str):
    """A session, or None when the server is at its session limit (its documented answer:
    an error event, then close 1013)."""
    import websockets
    from websockets.exceptions import ConnectionClosed

    # No client pings: a fast client's pongs would wait behind its own audio (docs/realtime.md).
    ws = await websockets.connect(_ws(url), max_size=None, open_timeout=60, ping_interval=None)
    event = json.loads(await ws.recv())
    if event["type"] == "session.created":
        return ws
    assert event["error"]["code"] == "session_limit_reached", event
    with contextlib.suppress(ConnectionClosed):
        await ws.recv()
    return None


async def _session(url: str, pcm: list[bytes], until: float, pace: float, errors, latencies):
    step = 4800  # 100 ms of 24 kHz PCM16
    ws = await _open(url)
    if ws is None:
        return None  # at the session limit: its documented answer, not a failure
    async with ws:
        committed = completed = 0
        last_end = [0.0]

        async def read():
            nonlocal committed, completed
            async for message in ws:
                event = json.loads(message)
                if event["type"] == "input_audio_buffer.committed":
                    committed += 1
                elif event["type"] == COMPLETED:
                    completed += 1
                    latencies.append(time.monotonic() - last_end[0])
                elif event["type"] == "error":
                    _note(errors, f"live error event: {event['error']['code']}")

        reader = asyncio.create_task(read())
        i = 0
        while time.monotonic() < until:
            data = pcm[i % len(pcm)]
            i += 1
            started = time.monotonic()
            for n, at in enumerate(range(0, len(data), step)):
                chunk = base64.b64encode(data[at : at + step]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
                if pace:
                    delay = started + (n + 1) * 0.1 / pace - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
            last_end[0] = time.monotonic()
        deadline = time.monotonic() + 120
        while (committed == 0 or completed < committed) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        reader.cancel()
        if completed < committed:
            _note(errors, "live turn without a transcript")
        return completed


async def live_load(url: str, seconds: float, sessions: int, clips) -> dict:
    """`sessions` live sessions at real-time pace for `seconds`."""
    errors: dict[str, int] = {}
    latencies: list[float] = []
    pcm = _pcm(clips)
    until = time.monotonic() + seconds
    done = await asyncio.gather(
        *(_session(url, pcm[i:] + pcm[:i], until, 1.0, errors, latencies) for i in range(sessions)),
        return_exceptions=True,
    )
    for result in done:
        if isinstance(result, Exception):
            _note(errors, f"live session failed: {type(result).__name__}")
    refused = sum(r is None for r in done)
    if refused:
        _note(errors, f"live session refused at the limit x{refused}")
    return {"turns": sum(r for r in done if isinstance(r, int)), "errors": errors}


async def live_hostile(url: str, seconds: float, clips, max_sessions: int) -> dict:
    import websockets
    from websockets.exceptions import ConnectionClosed

    outcomes: dict[str, int] = {}
    errors: dict[str, int] = {}
    until = time.monotonic() + seconds

    def note(kind: str, ok: bool, what: str) -> None:
        _note(outcomes if ok else errors, f"{kind}: {what}")

    async def malformed() -> None:
        frames = {
            "invalid_json": "{'type': 'input_audio_buffer.append'",
            "invalid_value": json.dumps({"type": "input_audio_buffer.flush"}),
            "invalid_frame": b"\x00binary",
            "invalid_value (audio)": json.dumps(
                {"type": "input_audio_buffer.append", "audio": "%%% not base64"}
            ),
        }
        while time.monotonic() < until:
            ws = await _open(url)
            if ws is None:
                await asyncio.sleep(1)
                continue
            async with ws:
                for expected, frame in frames.items():
                    await ws.send(frame)
                    event = json.loads(await ws.recv())
                    code = event.get("error", {}).get("code")
                    note("malformed", expected.split()[0] == code, f"{expected} -> {code}")
            await asyncio.sleep(0.5)

    async def oversized() -> None:
        while time.monotonic() < until:
            ws = await _open(url)
            if ws is None:
                await asyncio.sleep(1)
                continue
            async with ws:
                await ws.send("x" * (17 * 1024 * 1024))
                try:
                    while True:
                        await ws.recv()
                except ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd else None
                    note("oversized", code == 1009, f"close {code}")
            await asyncio.sleep(2)

    async def too_many() -> None:
        while time.monotonic() < until:
            opened, refused = [], 0
            try:
                for _ in range(max_sessions + 2):
                    ws = await websockets.connect(_ws(url), max_size=None)
                    opened.append(ws)
                    event = json.loads(await ws.recv())
                    if event["type"] == "error":
                        ok = event["error"]["code"] == "session_limit_reached"
                        try:
                            await ws.recv()
                        except ConnectionClosed as exc:
                            ok = ok and exc.rcvd is not None and exc.rcvd.code == 1013
                        refused += 1
                        note("over the limit", ok, "error + 1013")
            finally:
                for ws in opened:
                    await ws.close()
            note("over the limit", refused >= 1, f"{refused} refused")
            await asyncio.sleep(5)

    async def never_reads() -> None:
        host, port = url.removeprefix("http://").split(":")
        while time.monotonic() < until:
            _reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"GET /v1/realtime?intent=transcription HTTP/1.1\r\nHost: x\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            # Masked text frames, each earning an error event nobody reads.
            payload = json.dumps({"type": "nonsense", "event_id": "x" * 200}).encode()
            mask = b"\x01\x02\x03\x04"
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            frame = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + masked
            try:
                for _ in range(40):
                    writer.write(frame * 200)
                    await asyncio.wait_for(writer.drain(), 5)
            except (TimeoutError, OSError):
                pass  # the server stopped reading this client: its answer
            note("never reads", True, "sent until refused")
            writer.close()
            await asyncio.sleep(max(0, min(20, until - time.monotonic())))

    async def fast() -> None:
        pcm = _pcm(clips)
        while time.monotonic() < until:
            try:
                turns = await _session(url, pcm, min(until, time.monotonic() + 30), 0, errors, [])
            except ConnectionClosed as exc:
                note("faster than real time", False, f"closed {exc.rcvd and exc.rcvd.code}")
                continue
            if turns is None:
                note("faster than real time", True, "refused at the session limit")
            else:
                note("faster than real time", turns > 0, "transcribed")
            await asyncio.sleep(1)

    await asyncio.gather(
        malformed(), oversized(), too_many(), never_reads(), fast(), return_exceptions=False
    )
    return {"outcomes": outcomes, "errors": errors, "routes": {}}
