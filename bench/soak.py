"""`make soak`: a bounded load run on loopback against `speech-api serve` (embedded S3 and
upload worker), in phases:

1. warm-up: the mixed load (/stt, /tts misses and hits, uploads, /health), then 16 concurrent
   /tts + /stt clients for `--burst-seconds` (the first peak load allocates the working set:
   every thread's scratch buffers, every batch size; that is start-up, not growth);
2. mixed: `--clients` clients for `--seconds`, and `--live` live transcription sessions at
   real-time pace (every turn must get its transcript); RSS is first measured here;
3. concurrent: 16 clients at once, TTS misses and STT, for `--burst-seconds`;
4. hostile: decoder bombs, bodies sent a byte at a time, oversized JSON and clients that never
   read a streamed response, while one ordinary client keeps working; every hostile request
   must get its expected refusal (415, 408, 413 or a dropped stream) and the ordinary one 200;
   and the hostile live-transcription clients (bench/soak_realtime.py), each with its answer;
5. mixed again, 30 s; RSS is measured last here.

Passes when no request failed unexpectedly and memory (PSS of the server and its decoding
children: the median of the samples of phase 5 against that of the first 30 s of phase 2,
sampled every second) grew by at most 10 %. The RSS sum and the server's own RSS are reported
beside it.

    python bench/soak.py [--seconds 120] [--clients 4] [--burst-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import ENGLISH, ours  # noqa: E402
from bench.stats import summary  # noqa: E402
from devkit.server import ServerProcess, family_memory  # noqa: E402


async def soak(url: str, seconds: float, clients: int) -> dict:
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    counter = itertools.count()
    short = [c for c in ENGLISH if c.duration_s <= 6]
    deadline = time.monotonic() + seconds

    async def timed(route: str, call):
        started = time.perf_counter()
        try:
            response = await call
            ok = response.status_code < 400
        except httpx.HTTPError:
            ok = False
        latencies.setdefault(route, []).append(time.perf_counter() - started)
        if not ok:
            errors[route] = errors.get(route, 0) + 1
        return response if ok else None

    async def upload(api: httpx.AsyncClient, clip) -> None:
        form = await timed(
            "POST /uploads",
            api.post("/uploads", json={"filename": clip.file, "content_type": "audio/wav"}),
        )
        if form is None:
            return
        form = form.json()
        async with httpx.AsyncClient(timeout=60) as s3:
            await timed(
                "S3 presigned POST",
                s3.post(
                    form["upload"]["url"],
                    data=form["upload"]["fields"],
                    files={"file": (clip.file, clip.read())},
                ),
            )
        until = time.monotonic() + 120
        while time.monotonic() < until:
            r = await timed("GET /transcripts", api.get(form["transcript_url"]))
            if r is None or r.status_code == 200:
                return
            await asyncio.sleep(0.5)
        errors["upload never transcribed"] = errors.get("upload never transcribed", 0) + 1

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=url, timeout=300) as api:
            while time.monotonic() < deadline:
                n = next(counter)
                kind = rng.random()
                if kind < 0.35:
                    clip = rng.choice(short)
                    await timed(
                        "POST /stt",
                        api.post(
                            "/stt",
                            content=clip.read(),
                            params={"language": "en"},
                            headers={"content-type": "audio/wav"},
                        ),
                    )
                elif kind < 0.55:
                    await timed(
                        "POST /tts miss",
                        api.post(
                            "/tts", json={"text": f"Soak request number {n} is being spoken."}
                        ),
                    )
                elif kind < 0.75:
                    await timed(
                        "POST /tts hit",
                        api.post("/tts", json={"text": "This sentence is always the same."}),
                    )
                elif kind < 0.85:
                    await upload(api, rng.choice(short[:3]))
                else:
                    await timed("GET /health", api.get("/health"))

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {
        "routes": {k: summary(v) for k, v in sorted(latencies.items())},
        "requests": sum(len(v) for v in latencies.values()),
        "errors": errors,
    }


CONCURRENT = 16


async def concurrent(url: str, seconds: float) -> dict:
    """CONCURRENT clients at once, half synthesizing new text, half transcribing."""
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    counter = itertools.count()

    async def one(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as api:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                if i % 2:
                    route = "burst /tts miss"
                    text = f"Concurrent request {next(counter)} is spoken while others are too."
                    r = await api.post("/tts", json={"text": text})
                else:
                    route = "burst /stt"
                    clip = ENGLISH[i % len(ENGLISH)]
                    r = await api.post(
                        "/stt",
                        content=clip.read(),
                        params={"language": clip.language},
                        headers={"content-type": "audio/wav"},
                    )
                latencies.setdefault(route, []).append(time.perf_counter() - started)
                if r.status_code != 200:
                    key = f"{route} {r.status_code}"
                    errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
    return {"routes": {k: summary(v) for k, v in latencies.items()}, "errors": errors}


async def hostile(url: str, seconds: float) -> dict:
    """Attackers and careless clients, each expecting its refusal, beside one ordinary client."""
    from tests.support.audio_files import decoder_bombs

    outcomes: dict[str, int] = {}
    errors: dict[str, int] = {}
    latencies: dict[str, list[float]] = {}
    deadline = time.monotonic() + seconds
    host, port = url.removeprefix("http://").split(":")

    def note(kind: str, ok: bool, what: str) -> None:
        key = f"{kind}: {what}"
        (outcomes if ok else errors)[key] = (outcomes if ok else errors).get(key, 0) + 1

    async def bombs() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            while time.monotonic() < deadline:
                for name, data in decoder_bombs().items():
                    r = await api.post("/stt", content=data, headers={"content-type": "audio/wav"})
                    note("bomb", r.status_code in (415, 429), f"{name} {r.status_code}")

    async def trickle() -> None:
        while time.monotonic() < deadline:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /stt HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            answer = b""
            while not answer:
                writer.write(b"R")
                try:
                    answer = await asyncio.wait_for(reader.read(64), timeout=1)
                except TimeoutError:
                    continue
                except OSError:
                    break
            writer.close()
            status = answer[:12].decode(errors="replace")
            note("slow body", answer.startswith(b"HTTP/1.1 408"), status)

    async def big_json() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            body = '{"text": "' + "a" * (8 * 1024 * 1024) + '"}'
            while time.monotonic() < deadline:
                try:
                    r = await api.post(
                        "/tts", content=body, headers={"content-type": "application/json"}
                    )
                    note("big JSON", r.status_code == 413, str(r.status_code))
                except httpx.TransportError:
                    # The 413 came with Connection: close while the client was still sending.
                    note("big JSON", True, "413 and closed while sending")
                await asyncio.sleep(0.5)

    async def never_read() -> None:
        text = " ".join(f"Sentence {i} is read aloud to nobody at all." for i in range(60))
        body = json.dumps(
            {"model": "tts-1", "input": text, "voice": "alloy", "response_format": "pcm"}
        )
        while time.monotonic() < deadline:
            _reader, writer = await asyncio.open_connection(host, int(port))
            writer.transport.set_write_buffer_limits(0)
            writer.write(
                f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
            )
            await asyncio.sleep(min(20, max(0, deadline - time.monotonic())))
            writer.close()
            note("never reads", True, "closed")

    async def ordinary() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as api:
            while time.monotonic() < deadline:
                clip = ENGLISH[0]
                started = time.perf_counter()
                r = await api.post(
                    "/stt", content=clip.read(), headers={"content-type": "audio/wav"}
                )
                latencies.setdefault("ordinary /stt", []).append(time.perf_counter() - started)
                # 429 is the documented answer while hostile requests hold the slots.
                note("ordinary /stt", r.status_code in (200, 429), str(r.status_code))
                started = time.perf_counter()
                r = await api.get("/health")
                latencies.setdefault("ordinary /health", []).append(time.perf_counter() - started)
                note("ordinary /health", r.status_code == 200, str(r.status_code))

    await asyncio.gather(bombs(), trickle(), trickle(), big_json(), never_read(), ordinary())
    return {
        "outcomes": outcomes,
        "errors": errors,
        "routes": {k: summary(v) for k, v in latencies.items()},
    }


# What each memory sample holds, in order (bench/soak.json names them the same way).
COLUMNS = ("phase", "t_s", "family_pss_mb", "family_rss_mb", "server_rss_mb", "procs")


class RSSSampler:
    """Memory every `every` seconds in the background, labelled by phase: each sample is a
    row of COLUMNS."""

    def __init__(self, pid: int, every: float = 1.0):
        self.pid = pid
        self.every = every
        self.phase = "warm-up"
        self.samples: list[tuple[str, float, float, float, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rss, pss, own, count = family_memory(self.pid)
            t = round(time.monotonic() - self._started, 1)
            self.samples.append((self.phase, t, pss, rss, own, count))

    def __enter__(self) -> RSSSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def median(self, phase: str, column: str, first_s: float | None = None) -> float:
        i = COLUMNS.index(column)
        values = [(s[1], s[i]) for s in self.samples if s[0] == phase]
        if first_s is not None and values:
            values = [(t, v) for t, v in values if t <= values[0][0] + first_s]
        return statistics.median(v for _, v in values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120, help="mixed-load phase")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--burst-seconds", type=float, default=60)
    parser.add_argument("--hostile-seconds", type=float, default=45)
    parser.add_argument("--model", default="base")
    parser.add_argument("--warmup", type=float, default=45)
    parser.add_argument("--live", type=int, default=2, help="live sessions in the mixed phases")
    args = parser.parse_args()
    from bench import soak_realtime

    def with_live(load, seconds: float):
        """The HTTP load and `--live` live sessions at once; one result."""

        async def both():
            http, live = await asyncio.gather(
                load, soak_realtime.live_load(server.base_url, seconds, args.live, ENGLISH[:6])
            )
            http["live_turns"] = live["turns"]
            http["errors"].update(live["errors"])
            return http

        return both()

    async def hostile_all(seconds: float):
        http, live = await asyncio.gather(
            hostile(server.base_url, seconds),
            soak_realtime.live_hostile(server.base_url, seconds, ENGLISH[:3], max_sessions=4),
        )
        http["outcomes"].update(live["outcomes"])
        http["errors"].update(live["errors"])
        return http

    server: ServerProcess = ours(args.model, REALTIME_MAX_SESSIONS="4")
    phases: dict[str, dict] = {}
    try:
        with RSSSampler(server.proc.pid) as rss:
            phases["warm-up"] = asyncio.run(soak(server.base_url, args.warmup, args.clients))
            # As long as the concurrent phase: the first 16-way load sets the working set (every
            # batch size, every thread's buffers); growth is what comes after it.
            phases["warm-up burst"] = asyncio.run(concurrent(server.base_url, args.burst_seconds))
            rss.phase = "mixed"
            phases["mixed"] = asyncio.run(
                with_live(soak(server.base_url, args.seconds, args.clients), args.seconds)
            )
            rss.phase = "concurrent"
            phases["concurrent"] = asyncio.run(concurrent(server.base_url, args.burst_seconds))
            rss.phase = "hostile"
            phases["hostile"] = asyncio.run(hostile_all(args.hostile_seconds))
            rss.phase = "final"
            phases["final"] = asyncio.run(with_live(soak(server.base_url, 30, args.clients), 30))
    finally:
        server.stop()
    figures = {}
    for name, column in (
        ("pss", "family_pss_mb"),
        ("rss", "family_rss_mb"),
        ("server_rss", "server_rss_mb"),
    ):
        start = rss.median("mixed", column, first_s=30)
        end = rss.median("final", column)
        figures[name] = {
            "start_mb": start,
            "end_mb": end,
            "peak_mb": max(sample[COLUMNS.index(column)] for sample in rss.samples),
            "growth_pct": round(100 * (end - start) / start, 2),
        }
    growth = figures["pss"]["growth_pct"]
    errors = {
        f"{phase}: {k}": n
        for phase, result in phases.items()
        if not phase.startswith("warm-up")
        for k, n in result["errors"].items()
    }
    result = {
        "phases": phases,
        "memory_samples": {
            "columns": list(COLUMNS),
            "rows": rss.samples,
        },
        "memory": figures,
        "errors": errors,
    }
    (REPO / "bench" / "soak.json").write_text(json.dumps(result, indent=2))
    for phase, data in phases.items():
        requests = sum(s["n"] for s in data["routes"].values())
        print(f"\n{phase}: {requests} timed requests, unexpected errors {data['errors'] or 0}")
        for route, s in sorted(data["routes"].items()):
            print(
                f"  {route:<22} n={s['n']:<5} p50 {s['p50'] * 1000:7.0f} ms  "
                f"p95 {s['p95'] * 1000:7.0f} ms  p99 {s['p99'] * 1000:7.0f} ms"
            )
        if "outcomes" in data:
            for what, n in sorted(data["outcomes"].items()):
                print(f"  {what:<40} x{n}")
    for name, label in (
        ("pss", "memory (PSS, server + decoding children)"),
        ("rss", "RSS summed over the processes (shared pages once per child)"),
        ("server_rss", "the server process's own RSS"),
    ):
        f = figures[name]
        print(
            f"\n{label}: median {f['start_mb']:.0f} MB at the start of the mixed phase -> "
            f"{f['end_mb']:.0f} MB at the end ({f['growth_pct']:+.1f} %), "
            f"peak {f['peak_mb']:.0f} MB"
        )
    print("samples in bench/soak.json")
    failed = bool(errors) or growth > 10
    if failed:
        print(f"FAILED: unexpected errors {errors}, memory (PSS) growth {growth} %")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
