"""`speech-api`: run the server, or transcribe and synthesize from the command line, with the
local engines or against a running server (`--base-url`, `--api-key`).

    speech-api serve
    speech-api transcribe a.wav b.mp3 --format srt          # writes a.srt, b.srt
    speech-api transcribe talk.flac -o - --format text      # to stdout
    speech-api transcribe meeting.wav --diarize --format srt # "A: ...", "B: ..." cues
    speech-api transcribe call.wav --channel-identification # ch_0 / ch_1, merged by time
    speech-api synthesize "Hello there." -o hello.mp3
    speech-api synthesize "Hello there." --url --base-url http://127.0.0.1:8000
    speech-api synthesize --job chapter.md -o chapter.mp3 --captions   # a long text, as a job
    speech-api listen talk.wav                              # live: partial, then final lines
    arecord -f S16_LE -r 24000 -c 1 -t raw | speech-api listen -   # a microphone
    speech-api voices                                       # what --voice accepts
    speech-api models                                       # what --model accepts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from speech_api.config import Settings
from speech_api.errors import SpeechAPIError
from speech_api.formats import OUTPUT_FORMATS, TRANSCRIPT_FORMATS
from speech_api.runtime.cli.backend import Backend, SynthesizeRequest, TranscribeRequest
from speech_api.runtime.cli.terminal import interactive, say
from speech_api.service.transcription_request import CLI, TranscriptionRequest, cli_flags


def backend(settings: Settings, base_url: str | None, api_key: str | None) -> Backend:
    """The engines in this process, or the server at ``base_url``."""
    if base_url:
        from speech_api.runtime.cli.remote import RemoteBackend

        return RemoteBackend(base_url, api_key, interactive=interactive())
    from speech_api.runtime.cli.local_engines import LocalBackend

    return LocalBackend(settings, interactive=interactive())


def transcribe(
    engines: Backend, files: list[Path], request: TranscribeRequest, *, output: str | None
) -> int:
    """Each file's transcript to ``output`` (a folder, ``-`` for stdout, or beside the file);
    a file that fails is reported and the batch goes on. The exit code: 1 if any failed."""
    from tqdm import tqdm

    failures = 0
    bar = tqdm(files, desc="transcribing", unit="file", disable=not interactive(), file=sys.stderr)
    for path in bar:
        try:
            text = engines.transcribe(path, request)
        except SystemExit as exc:
            bar.write(f"{path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        except Exception as exc:  # one bad file must not stop a batch
            bar.write(f"{path}: {getattr(exc, 'message', exc)}", file=sys.stderr)
            failures += 1
            continue
        if output == "-":
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            folder = Path(output) if output else path.parent
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{path.stem}.{TRANSCRIPT_FORMATS[request.fmt]}"
            target.write_text(text, encoding="utf-8")
            say(f"wrote {target}")
    bar.close()
    done = len(files) - failures
    say(
        f"{done} of {len(files)} file(s) transcribed" + (f", {failures} failed" if failures else "")
    )
    return 1 if failures else 0


def synthesize(
    engines: Backend, request: SynthesizeRequest, *, output: Path | None, want_url: bool
) -> int:
    """The public URL of the stored audio (``want_url``) and/or the audio to ``output``."""
    if want_url:
        print(engines.speech_url(request))
    if output:
        output.write_bytes(engines.speech(request))
        say(f"wrote {output} ({output.stat().st_size // 1024} KB)")
    return 0


def synthesis_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the output file's suffix, else mp3."""
    fmt = fmt or (output.suffix.lstrip(".") if output and output.suffix else "mp3")
    if fmt not in OUTPUT_FORMATS:
        raise SystemExit(f"unknown format '{fmt}': use --format ({', '.join(OUTPUT_FORMATS)})")
    return fmt


def list_voices(engines: Backend) -> int:
    voices = engines.voices()
    for name in voices["voices"]:
        print(f"{name}  (default)" if name == voices["default"] else name)
    for alias, voice in voices["aliases"].items():
        print(f"{alias} -> {voice}")
    for alias, voice in voices.get("unavailable", {}).items():
        print(f"{alias} -> {voice}  (not installed)")
    for note in voices.get("notes", []):
        say(note)
    return 0


def list_models(engines: Backend) -> int:
    """The model names, under what each is for: `transcribe --model` takes the first group,
    /v1/audio/speech's `model` the second (all of which use the server's one TTS engine)."""
    from speech_api.engines import registry
    from speech_api.openai_names import OPENAI_STT_MODELS, OPENAI_TTS_MODELS, openai_model

    ids = engines.model_ids()
    tts = [m for m in ids if openai_model(m, OPENAI_TTS_MODELS) or m in registry.tts_names()]
    groups = {
        "speech to text (transcribe --model; /v1/audio/transcriptions)": [
            m for m in ids if m not in tts
        ],
        "text to speech (/v1/audio/speech; each uses the server's TTS engine)": tts,
    }
    for title, names in groups.items():
        print(f"{title}:")
        for name in names:
            alias = openai_model(name, OPENAI_STT_MODELS)
            print(
                f"  {name}  (OpenAI's name: the server's default model)" if alias else f"  {name}"
            )
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speech-api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the HTTP API")
    p_serve.add_argument("--host", default=None, help="default: HOST or 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=None, help="default: PORT or 8000")

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--base-url", help="a running server; default: the local engines")
    remote.add_argument("--api-key", help="bearer key for --base-url")

    p_stt = sub.add_parser("transcribe", parents=[remote], help="audio files to text")
    p_stt.add_argument("files", nargs="+", type=Path)
    p_stt.add_argument("--format", choices=list(TRANSCRIPT_FORMATS), default="text")
    p_stt.add_argument(
        "-o", "--output", help="a folder, or - for stdout; default: next to each file"
    )
    # --model, --language, --translate, --word-timestamps, --diarize, --min-speakers, ...
    for flag, kwargs in cli_flags():
        p_stt.add_argument(flag, **kwargs)

    p_tts = sub.add_parser("synthesize", parents=[remote], help="text to audio")
    p_tts.add_argument("text", nargs="?", help="the text (or --job FILE)")
    p_tts.add_argument(
        "--job",
        metavar="FILE",
        help="a long text file (- for stdin; plain, Markdown or SSML) spoken as a speech job, "
        "with a progress bar",
    )
    p_tts.add_argument("--captions", action="store_true", help="with --job: FILE.srt, .vtt too")
    p_tts.add_argument("-o", "--output", type=Path, help="audio file to write")
    p_tts.add_argument("--url", action="store_true", help="store in S3, print the public URL")
    p_tts.add_argument("--format", choices=list(OUTPUT_FORMATS))
    p_tts.add_argument("--voice")
    p_tts.add_argument("--speed", type=float, default=1.0)

    p_listen = sub.add_parser(
        "listen", parents=[remote], help="live transcription of a file or of audio on stdin"
    )
    p_listen.add_argument("source", help="an audio file, or - for raw audio on stdin")
    p_listen.add_argument(
        "--stdin-format",
        choices=["pcm16", "pcmu", "pcma"],
        default="pcm16",
        help="what stdin carries: pcm16 (24 kHz mono s16le, the default), pcmu or pcma (8 kHz)",
    )
    p_listen.add_argument("--language", help="ISO 639-1 code; detected when absent")
    p_listen.add_argument("--model", help="a model from `speech-api models`")
    p_listen.add_argument(
        "--speed", type=float, default=1.0, help="times real time (default 1; 0: as fast as taken)"
    )
    p_listen.add_argument(
        "--no-vad", action="store_true", help="one turn for the whole input (no turn detection)"
    )
    p_listen.add_argument("--silence-ms", type=int, help="a pause this long ends a turn (500)")
    p_listen.add_argument("--final-only", action="store_true", help="print final lines only")

    sub.add_parser("voices", parents=[remote], help="the voices and their aliases")
    sub.add_parser("models", parents=[remote], help="the model names requests may use")

    p_redrive = sub.add_parser(
        "redrive", help="move failed upload messages from the dead-letter queue back"
    )
    p_redrive.add_argument("--dlq-url", required=True)
    p_redrive.add_argument("--queue-url", required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = Settings()  # read once, passed in
    if args.command == "redrive":
        from speech_api.runtime.upload_batches import redrive_dead_letters

        moved = redrive_dead_letters(settings, args.dlq_url, args.queue_url)
        print(f"moved {moved} message(s)")
        return
    if args.command == "serve":
        from speech_api.runtime.serve import serve

        serve(settings, args.host, args.port)
        return
    try:
        code = _run(settings, args)
    except SpeechAPIError as exc:  # bad input, storage or model trouble: one line, no trace
        raise SystemExit(f"error: {exc.message}") from None
    except _httpx_errors() as exc:
        raise SystemExit(f"error: cannot reach the server: {exc}") from None
    sys.exit(code)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """transcribe, synthesize, voices or models; the exit code."""
    if args.command == "transcribe":
        if args.word_timestamps and args.format != "verbose_json":
            raise SystemExit("--word-timestamps needs --format verbose_json")
        from speech_api.runtime.malloc import tune_malloc

        tune_malloc()  # hours of audio pass through decoder threads
        if (args.min_speakers or args.max_speakers) and not args.diarize:
            raise SystemExit("--min-speakers and --max-speakers need --diarize")
        if args.diarize and args.channel_identification:
            raise SystemExit("--diarize and --channel-identification cannot be combined: pick one")
        options = {name: getattr(args, name) for name in TranscriptionRequest.taken_by(CLI)}
        if args.format == "diarized_json":  # the speaker-labelled format asks for speakers
            options["diarize"] = True
        request = TranscribeRequest(
            fmt=args.format, options=TranscriptionRequest.parse(options, CLI)
        )
        request.options.options()  # refused here, before any file is read or sent
        engines = backend(settings, args.base_url, args.api_key)
        return transcribe(engines, args.files, request, output=args.output)
    if args.command == "synthesize":
        if args.output is None and not args.url:
            raise SystemExit("give -o FILE or --url")
        if args.job:
            return _job(settings, args)
        if args.text is None:
            raise SystemExit("give the text, or --job FILE")
        request = SynthesizeRequest(
            text=args.text,
            fmt=synthesis_format(args.format, args.output),
            voice=args.voice,
            speed=args.speed,
        )
        engines = backend(settings, args.base_url, args.api_key)
        return synthesize(engines, request, output=args.output, want_url=args.url)
    if args.command == "listen":
        return listen(settings, args)
    engines = backend(settings, args.base_url, args.api_key)
    return list_voices(engines) if args.command == "voices" else list_models(engines)


def _job(settings: Settings, args: argparse.Namespace) -> int:
    from speech_api.runtime.cli.speech_jobs import JobRequest, read_job_file, run_job

    if args.text is not None:
        raise SystemExit("give the text or --job FILE, not both")
    text, text_type = read_job_file(args.job)
    request = JobRequest(
        text=text,
        text_type=text_type,
        fmt=synthesis_format(args.format, args.output),
        voice=args.voice,
        speed=args.speed,
        captions=args.captions,
    )
    return run_job(
        settings,
        request,
        name=Path(args.job).name if args.job != "-" else "stdin",
        base_url=args.base_url,
        api_key=args.api_key,
        output=args.output,
        want_url=args.url,
        interactive=interactive(),
    )


def listen(settings: Settings, args: argparse.Namespace) -> int:
    """`listen`: against --base-url, or the app on a loopback port in this process."""
    from speech_api.runtime.cli import listen as live

    request = live.ListenRequest(
        source=args.source,
        stdin_format=args.stdin_format,
        language=args.language,
        model=args.model,
        speed=args.speed,
        vad=not args.no_vad,
        silence_ms=args.silence_ms,
        final_only=args.final_only,
    )
    if args.base_url:
        return live.listen(live.realtime_url(args.base_url), args.api_key, request, settings)
    with live.local_server(settings) as base_url:
        return live.listen(live.realtime_url(base_url), settings.api_key, request, settings)


def _httpx_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.TransportError,)
