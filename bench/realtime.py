"""Live transcription figures (`make bench` runs them; alone: python bench/realtime.py):

- latency: each English dev clip streamed at real-time pace (100 ms appends of 24 kHz PCM,
  server_vad with OpenAI's defaults) through one session: end of speech -> `completed` p50/p95,
  speech start -> first `delta`, the longest wait between deltas while speaking;
- accuracy: WER of the `completed` transcripts vs `/stt` on the same clips, same server;
- concurrency: N sessions at once, each streaming clips back to back at real-time pace:
  end of speech -> `completed` p50/p95 per N, and the most sessions with p95 <= 2 s.

End of speech is where Silero VAD (no padding) finds the clip's last speech, not the end of
the file (some clips carry a second of silence). Writes bench/realtime.json.

    python bench/realtime.py [--model base] [--quick] [--levels 1,2,4,6,8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.stats import pct, spread  # noqa: E402
from devkit.clips import load_clips  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402

RESULTS = REPO / "bench" / "realtime.json"
LEAD_S, TAIL_S, CHUNK_S = 0.5, 1.5, 0.1
TARGET_P95_S = 2.0
# Clips each session streams back to back per concurrency level: enough that a level's p95
# rests on more than a handful of turns.
TURNS_PER_SESSION = 5
COMPLETED = "conversation.item.input_audio_transcription.completed"
DELTA = "conversation.item.input_audio_transcription.delta"


class Turn:
    """One clip as a live client sends it, with where its speech starts and ends."""

    def __init__(self, clip):
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        from speech_api.audio import decode_audio
        from speech_api.audio.pcm import PCM24K, encode_stream

        samples = decode_audio(clip.read(), max_seconds=120).samples
        spans = get_speech_timestamps(
            samples, VadOptions(speech_pad_ms=0, min_silence_duration_ms=100)
        )
        self.clip = clip
        self.speech_start = LEAD_S + (spans[0]["start"] / 16000 if spans else 0.0)
        self.speech_end = LEAD_S + (spans[-1]["end"] / 16000 if spans else len(samples) / 16000)
        audio = np.concatenate(
            [np.zeros(int(LEAD_S * 16000), np.float32), samples, np.zeros(int(TAIL_S * 16000))]
        ).astype(np.float32)
        self.pcm = encode_stream(audio, 16000, PCM24K)
        self.duration = len(audio) / 16000


async def live_session(url: str, turns: list[Turn], language: str = "en") -> list[dict]:
    """Stream the turns back to back at real-time pace through one session; for each turn,
    when its speech started and ended (wall clock) and the events that belong to it."""
    import websockets

    step = int(CHUNK_S * 24000) * 2
    records: list[dict] = []
    events: list[tuple[float, dict]] = []
    async with websockets.connect(url, max_size=None, open_timeout=60) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "transcription",
                        "audio": {"input": {"transcription": {"language": language}}},
                    },
                }
            )
        )
        assert json.loads(await ws.recv())["type"] == "session.updated"

        async def read():
            async for message in ws:
                events.append((time.monotonic(), json.loads(message)))

        reader = asyncio.create_task(read())
        t0 = time.monotonic()
        offset = 0.0
        for turn in turns:
            records.append(
                {
                    "turn": turn,
                    "window": (t0 + offset, t0 + offset + turn.duration),
                    "speech_start": t0 + offset + turn.speech_start,
                    "speech_end": t0 + offset + turn.speech_end,
                }
            )
            for i, at in enumerate(range(0, len(turn.pcm), step)):
                chunk = base64.b64encode(turn.pcm[at : at + step]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
                delay = t0 + offset + (i + 1) * CHUNK_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            offset += turn.duration
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(e["type"] == COMPLETED for _, e in events)
            committed = sum(e["type"] == "input_audio_buffer.committed" for _, e in events)
            if committed and done >= committed and committed >= len(turns):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        reader.cancel()
    # Each item belongs to the turn its speech started in.
    items: dict[str, dict] = {}
    for t, e in events:
        if e["type"] == "input_audio_buffer.speech_started":
            items[e["item_id"]] = {"started": t, "deltas": [], "completed": None, "text": ""}
        item = items.get(e.get("item_id", ""))
        if item is None:
            continue
        if e["type"] == DELTA:
            item["deltas"].append(t)
        elif e["type"] == COMPLETED:
            item["completed"] = t
            item["text"] = e["transcript"]
    for record in records:
        begin, end = record["window"]
        # Speech is detected a few frames after it starts, at most a little past the window.
        mine = [i for i in items.values() if begin <= i["started"] < end]
        record["items"] = mine
        record["text"] = " ".join(i["text"] for i in mine if i["text"])
        finished = [i["completed"] for i in mine if i["completed"]]
        record["completed"] = max(finished) if len(finished) == len(mine) and mine else None
        deltas = sorted(t for i in mine for t in i["deltas"])
        record["first_delta"] = deltas[0] if deltas else None
        while_speaking = [t for t in deltas if t <= record["speech_end"]]
        gaps = np.diff([record["speech_start"], *while_speaking, record["speech_end"]])
        record["longest_gap"] = float(max(gaps)) if len(gaps) else None
        record["deltas_while_speaking"] = len(while_speaking)
    return records


def stt_texts(base_url: str, turns: list[Turn]) -> list[str]:
    texts = []
    with httpx.Client(timeout=120) as client:
        for turn in turns:
            r = client.post(
                f"{base_url}/stt",
                content=turn.clip.read(),
                params={"language": "en"},
                headers={"content-type": "application/octet-stream"},
            )
            r.raise_for_status()
            texts.append(r.json()["text"])
    return texts


def latency(url: str, base_url: str, turns: list[Turn]) -> dict:
    records = []
    for turn in turns:  # one session per clip: each clip's figures stand alone
        records += asyncio.run(live_session(url, [turn]))
    done = [r for r in records if r["completed"]]
    live = [r["text"] for r in records]
    refs = [r["turn"].clip.text for r in records]
    stt = stt_texts(base_url, turns)
    speech_s = sum(r["speech_end"] - r["speech_start"] for r in records)
    return {
        "clips": len(records),
        "end_of_speech_to_completed_s": spread([r["completed"] - r["speech_end"] for r in done]),
        "speech_start_to_first_delta_s": spread(
            [r["first_delta"] - r["speech_start"] for r in records if r["first_delta"]]
        ),
        "longest_wait_for_a_delta_while_speaking_s": spread(
            [r["longest_gap"] for r in records if r["longest_gap"] is not None]
        ),
        "deltas_per_second_of_speech": round(
            sum(r["deltas_while_speaking"] for r in records) / speech_s, 2
        ),
        "missing_transcripts": len(records) - len(done),
        "wer_live": round(corpus_wer(refs, live), 4),
        "wer_stt": round(corpus_wer(refs, stt), 4),
    }


def cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def concurrency(url: str, turns: list[Turn], levels: list[int], per_session: int, pid: int) -> dict:
    out = {}
    for n in levels:
        plans = [
            [turns[(s * per_session + k) % len(turns)] for k in range(per_session)]
            for s in range(n)
        ]

        async def run_all(plans=plans):
            tasks = []
            for i, plan in enumerate(plans):
                await asyncio.sleep(0.37 * i / max(1, len(plans)))  # staggered starts
                tasks.append(asyncio.create_task(live_session(url, plan)))
            return await asyncio.gather(*tasks)

        cpu_before = cpu_s(pid)
        sessions = asyncio.run(run_all())
        cpu = cpu_s(pid) - cpu_before
        records = [r for s in sessions for r in s]
        audio_s = sum(r["turn"].duration for r in records)
        done = [r["completed"] - r["speech_end"] for r in records if r["completed"]]
        firsts = [r["first_delta"] - r["speech_start"] for r in records if r["first_delta"]]
        out[n] = {
            **spread(done),
            "missing": len(records) - len(done),
            "first_delta_p50_s": round(pct(firsts, 0.5), 3),
            # Server CPU per second of audio streamed: how much of the machine a session
            # takes, which waiting on a busy machine does not inflate as it does latency.
            "server_cpu_s_per_audio_s": round(cpu / audio_s, 3),
        }
        print(
            f"  {n} sessions: completed p50 {out[n]['p50']} s, p95 {out[n]['p95']} s",
            file=sys.stderr,
        )
    ok = [n for n in levels if out[n]["p95"] <= TARGET_P95_S and not out[n]["missing"]]
    return {"levels": out, "sustained_sessions": max(ok) if ok else 0}


def run(
    model: str = "base",
    quick: bool = False,
    levels: list[int] | None = None,
    turns_per_session: int | None = None,
    latency_section: bool = True,
) -> dict:
    from bench.servers import ours

    english = [c for c in load_clips() if c.language == "en"]
    if quick:
        english = english[:6]
    turns = [Turn(c) for c in english]
    server = ours(model, REALTIME_MAX_SESSIONS="32", PRELOAD_MODELS="stt")
    url = server.base_url.replace("http", "ws") + "/v1/realtime?intent=transcription"
    try:
        httpx.get(f"{server.base_url}/ready", timeout=120)
        asyncio.run(live_session(url, turns[:1]))  # warm-up (model, VAD)
        result: dict = {"model": model}
        if latency_section:
            print("[realtime] latency and WER, one session per clip", file=sys.stderr)
            result["latency"] = latency(url, server.base_url, turns)
        print("[realtime] concurrent sessions", file=sys.stderr)
        result["concurrency"] = concurrency(
            url,
            turns,
            levels or ([1, 2, 4] if quick else [1, 2, 4, 6, 8]),
            turns_per_session or (2 if quick else TURNS_PER_SESSION),
            server.proc.pid,
        )
        result["server_rss_mb"] = server.family_rss_mb()
    finally:
        server.stop()
    return result


def print_table(r: dict) -> None:
    conc = r["concurrency"]
    if "latency" in r:
        lat = r["latency"]
        e2c, first = lat["end_of_speech_to_completed_s"], lat["speech_start_to_first_delta_s"]
        gap = lat["longest_wait_for_a_delta_while_speaking_s"]
        print(
            f"\nLive transcription ({r['model']}, {lat['clips']} English dev clips at "
            "real-time pace)"
        )
        print(f"  end of speech -> completed   p50 {e2c['p50']:.2f} s   p95 {e2c['p95']:.2f} s")
        print(f"  speech start -> first delta  p50 {first['p50']:.2f} s   p95 {first['p95']:.2f} s")
        print(f"  longest wait for a delta     p50 {gap['p50']:.2f} s   p95 {gap['p95']:.2f} s")
        print(f"  deltas per second of speech  {lat['deltas_per_second_of_speech']}")
        print(f"  WER live {lat['wer_live'] * 100:.1f} %   /stt {lat['wer_stt'] * 100:.1f} %")
    for n, level in conc["levels"].items():
        print(
            f"  {n} sessions: completed p50 {level['p50']:.2f} s  p95 {level['p95']:.2f} s  "
            f"first delta p50 {level['first_delta_p50_s']:.2f} s  missing {level['missing']}  "
            f"server CPU {level['server_cpu_s_per_audio_s']:.2f} s per audio s"
        )
    sustained = conc["sustained_sessions"]
    print(f"  sessions sustained with completed p95 <= {TARGET_P95_S:g} s: {sustained}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="base")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--levels", default="", help="session counts, e.g. 1,2,4,6,8")
    parser.add_argument("--turns", type=int, default=0, help="clips per session and level")
    parser.add_argument(
        "--concurrency-only", action="store_true", help="skip the one-session latency figures"
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",") if n] or None
    result = run(args.model, args.quick, levels, args.turns or None, not args.concurrency_only)
    result["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.write_text(json.dumps(result, indent=2))
    print_table(result)


if __name__ == "__main__":
    main()
