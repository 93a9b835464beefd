"""`make soak`: a bounded load run on loopback against `speech-api serve` (embedded S3 and
upload worker), mixing /stt, /tts (misses and hits), uploads and /health for a fixed time.
Passes when no request failed and RSS grew by at most 10 %.

    python bench/soak.py [--seconds 180] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import ENGLISH, Server, ours, rss_mb, summary  # noqa: E402


async def soak(url: str, seconds: float, clients: int, pid: int | None = None) -> dict:
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

    rss_samples: list[float] = []

    async def sample_rss() -> None:
        while pid and time.monotonic() < deadline:
            rss_samples.append(rss_mb(pid))
            await asyncio.sleep(10)

    await asyncio.gather(sample_rss(), *(client(i) for i in range(clients)))
    return {
        "rss_samples_mb": rss_samples,
        "routes": {k: summary(v) for k, v in sorted(latencies.items())},
        "requests": sum(len(v) for v in latencies.values()),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--model", default="base")
    parser.add_argument(
        "--warmup",
        type=float,
        default=45,
        help="seconds of the same load before RSS is first measured",
    )
    args = parser.parse_args()

    server: Server = ours(args.model)
    try:
        # Warm up with the same mix first: every worker thread's first inference allocates its
        # own scratch buffers, which is start-up, not growth.
        warmup = asyncio.run(soak(server.url, args.warmup, args.clients))
        if warmup["errors"]:
            print(f"warm-up errors: {warmup['errors']}")
        rss_start = server.rss()
        result = asyncio.run(soak(server.url, args.seconds, args.clients, server.proc.pid))
        rss_end = server.rss()
    finally:
        server.stop()
    result.update(
        {
            "seconds": args.seconds,
            "clients": args.clients,
            "rss_start_mb": rss_start,
            "rss_end_mb": rss_end,
            "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 2),
        }
    )
    (REPO / "bench" / "soak.json").write_text(json.dumps(result, indent=2))
    print(f"RSS every 10 s: {result['rss_samples_mb']}")
    print(
        f"\nsoak: {result['requests']} requests in {args.seconds:.0f} s with {args.clients} "
        f"clients, errors {sum(result['errors'].values())}, RSS {rss_start} -> {rss_end} MB "
        f"({result['rss_growth_pct']:+.1f} %)"
    )
    for route, s in result["routes"].items():
        print(
            f"  {route:<22} n={s['n']:<5} p50 {s['p50'] * 1000:7.0f} ms  "
            f"p95 {s['p95'] * 1000:7.0f} ms  p99 {s['p99'] * 1000:7.0f} ms"
        )
    failed = bool(result["errors"]) or result["rss_growth_pct"] > 10
    if failed:
        print(f"FAILED: errors {result['errors']}, RSS growth {result['rss_growth_pct']} %")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
