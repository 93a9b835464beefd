"""Long-form transcription: RTF and WER on one long recording built from the dev clips.

    python bench/long_form.py [--model base] [--minutes 5] [--hours 2] [--json out.json]

Side by side, on the same recording (the English clips shuffled and joined with 0.5 s gaps)
and the same model (int8, beam 5, this machine's cores):

* clip by clip: each clip on its own through `WhisperModel.transcribe`: the WER to match;
* library, sequential: `WhisperModel.transcribe(vad_filter=True)` on the whole recording;
* library, batched: faster-whisper's `BatchedInferencePipeline` (batch 8);
* ours: `SpeechService.transcribe_recording` on the recording as a FLAC file, as the upload
  worker and the CLI run it (decoding to PCM included).

Then memory: the peak RSS of a process transcribing a ``--hours`` long WAV (quiet noise with a
clip every 5 minutes), ours (`speech-api transcribe`) vs `WhisperModel.transcribe(path)`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from devkit.clips import joined_recording, write_sparse_recording  # noqa: E402
from devkit.wer import corpus_wer  # noqa: E402


def run(model: str, minutes: float, cache_dir: Path) -> dict:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from speech_api.audio import decode_audio
    from speech_api.config import Settings
    from speech_api.engines import TranscriptionOptions
    from speech_api.engines.stt.whisper_models import resolve_model
    from speech_api.service import SpeechService

    recording = joined_recording(min_s=minutes * 60)
    duration = recording.duration_s
    reference = recording.reference
    direct = WhisperModel(
        resolve_model(model, cache_dir), device="cpu", compute_type="int8", cpu_threads=0
    )
    rows: dict[str, dict] = {}

    def row(name: str, seconds: float, text: str, **extra) -> None:
        rows[name] = {
            "seconds": round(seconds, 1),
            "rtf": round(seconds / duration, 4),
            "wer": round(100 * corpus_wer([reference], [text]), 1),
            **extra,
        }
        print(
            f"  {name:<22} {seconds:6.1f} s  RTF {seconds / duration:.3f}  "
            f"WER {rows[name]['wer']:.1f} %",
            file=sys.stderr,
        )

    # Clip by clip (each distinct clip decoded once, its text reused for repeats).
    texts: dict[str, str] = {}
    started = time.perf_counter()
    for clip in recording.clips:
        if clip.file not in texts:
            samples = decode_audio(clip.read(), max_seconds=60).samples
            segments, _ = direct.transcribe(samples, beam_size=5, vad_filter=True, language="en")
            texts[clip.file] = " ".join(s.text.strip() for s in segments)
    clip_seconds = time.perf_counter() - started
    unique_s = sum(c.duration_s for c in {c.file: c for c in recording.clips}.values())
    rows["clip by clip"] = {
        "seconds": round(clip_seconds, 1),
        "rtf": round(clip_seconds / unique_s, 4),
        "wer": round(
            100 * corpus_wer([reference], [" ".join(texts[c.file] for c in recording.clips)]), 1
        ),
    }
    print(f"  clip by clip           WER {rows['clip by clip']['wer']:.1f} %", file=sys.stderr)

    started = time.perf_counter()
    segments, _ = direct.transcribe(recording.samples, beam_size=5, vad_filter=True, language="en")
    text = " ".join(s.text.strip() for s in segments)
    row("library sequential", time.perf_counter() - started, text)

    pipeline = BatchedInferencePipeline(direct)
    started = time.perf_counter()
    segments, _ = pipeline.transcribe(recording.samples, beam_size=5, batch_size=8, language="en")
    text = " ".join(s.text.strip() for s in segments)
    row("library batched (8)", time.perf_counter() - started, text)
    del pipeline, direct

    settings = Settings(model_cache_dir=cache_dir, stt={"model": model})
    service = SpeechService(settings)
    service.stt_engine()  # loaded before the clock starts, as in a warm worker
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.flac"
        path.write_bytes(recording.flac())
        started = time.perf_counter()
        with service.transcribe_recording(path, TranscriptionOptions(language="en")) as stream:
            transcript = stream.collect()
        elapsed = time.perf_counter() - started
    engine = service.stt_engine()
    stats = engine.long_form.stats
    row(
        "ours (long-form)",
        elapsed,
        transcript.text,
        chunks=stats.chunks,
        redecoded=stats.redecoded,
        recovered_words=stats.recovered_words,
    )
    clip_wer = rows["clip by clip"]["wer"]
    return {
        "model": model,
        "recording_s": round(duration, 1),
        "clips": len(recording.clips),
        "rows": rows,
        "wer_ratio_vs_clips": round(rows["ours (long-form)"]["wer"] / clip_wer, 2)
        if clip_wer
        else None,
    }


# A process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak at fork across
# exec into the child's, so a child of a large process reports the parent's size.
_PEAK = """
def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""
_OURS = (
    _PEAK
    + """
import sys
from speech_api.runtime.cli import main
try:
    main(["transcribe", sys.argv[1], "--format", "srt", "-o", sys.argv[2]])
except SystemExit as exc:
    assert not exc.code, exc.code
print("peak_kb", peak_kb(), file=sys.stderr)
"""
)
_LIBRARY = (
    _PEAK
    + """
import sys
from faster_whisper import WhisperModel
from speech_api.engines.stt.whisper_models import resolve_model
from speech_api.config import default_cache_dir
model = WhisperModel(resolve_model(sys.argv[3], default_cache_dir()), device="cpu",
                     compute_type="int8")
segments, _ = model.transcribe(sys.argv[1], beam_size=5, vad_filter=True)
list(segments)
print("peak_kb", peak_kb(), file=sys.stderr)
"""
)


def memory(model: str, hours: float) -> dict:
    """Peak RSS and wall time of one process transcribing an ``hours``-long WAV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    env.update(STT_MODEL=model, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    out: dict = {"hours": hours}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        write_sparse_recording(path, hours)
        out["file_mb"] = round(path.stat().st_size / 2**20)
        for name, script in (("ours", _OURS), ("library", _LIBRARY)):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", script, str(path), tmp, model],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode:
                raise RuntimeError(f"{name}: {done.stderr[-1000:]}")
            out[name] = {
                "peak_rss_mb": round(int(done.stderr.split("peak_kb")[-1]) / 1024),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(f"  {hours:g} h file, {name}: {out[name]}", file=sys.stderr)
    return out


def print_table(result: dict) -> None:
    print(
        f"\nLong-form: {result['recording_s']:.0f} s recording of {result['clips']} joined "
        f"clips, Whisper {result['model']} int8, beam 5"
    )
    print(f"{'':<24}{'time':>8}{'RTF':>8}{'WER':>8}")
    for name, r in result["rows"].items():
        time_s = f"{r['seconds']:.1f}s" if name != "clip by clip" else "-"
        rtf = f"{r['rtf']:.3f}" if name != "clip by clip" else "-"
        print(f"{name:<24}{time_s:>8}{rtf:>8}{r['wer']:>7.1f}%")
    ours = result["rows"]["ours (long-form)"]
    print(
        f"ours: {ours['chunks']} chunks, {ours['redecoded']} skipped stretches decoded again "
        f"({ours['recovered_words']} words recovered); WER {result['wer_ratio_vs_clips']}x "
        "clip by clip"
    )
    if mem := result.get("memory"):
        print(
            f"{mem['hours']:g} h WAV ({mem['file_mb']} MB): peak RSS ours "
            f"{mem['ours']['peak_rss_mb']} MB in {mem['ours']['seconds']:.0f} s, library "
            f"{mem['library']['peak_rss_mb']} MB in {mem['library']['seconds']:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--hours", type=float, default=2.0, help="memory run; 0 skips it")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from speech_api.config import default_cache_dir

    result = run(args.model, args.minutes, default_cache_dir())
    if args.hours:
        result["memory"] = memory(args.model, args.hours)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
