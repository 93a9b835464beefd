"""Whisper's settings (the STT group: ``STT_MODEL`` is ``model``, ``STT_BEAM_SIZE`` is
``beam_size``, ...), apart from the adapter (whisper.py) so that the engine (whisper_engine.py),
which the adapter loads, can name them too."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from speech_api.engines.spec import EngineSettings


class WhisperSettings(EngineSettings):
    model: str = Field("base", description="faster-whisper size/name or a local model directory")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA if present")
    compute_type: str | None = Field(None, description="default: int8 on CPU, float16 on CUDA")
    # Measured on 2 cores (base and tiny.en, int8): one clip alone takes 25-30 % less time on
    # one thread than on CTranslate2's default of 4 or on 2 (a Whisper decode is many small
    # steps, and threads cost more to synchronize than they save), and with one worker per
    # core, clips that arrive together run side by side instead of in turn.
    cpu_threads: int = Field(
        1, ge=0, description="CTranslate2 threads per decode (0 = CTranslate2's default, 4)"
    )
    num_workers: int = Field(
        0,
        ge=0,
        description="decodes run at once, each on its own threads, sharing the model's weights "
        "(0 = one per core on CPU, 1 on a GPU)",
    )
    extra_models: str = Field(
        "", description="more models callers may pick by name (comma-separated), besides model"
    )
    beam_size: int = Field(5, ge=1, le=10, description="beam search width")
    vad_filter: bool = Field(True, description="skip what voice activity detection finds silent")
    # A result that looks wrong is decoded again over the full window.
    trim_context: bool = Field(
        True,
        description="encode a clip that fits one 30 s window as its audio plus a margin, not "
        "the whole padded window",
    )
    context_margin_s: float = Field(
        2.0, ge=0.0, le=30.0, description="the margin a trimmed clip keeps, seconds"
    )
    batch_size: int = Field(
        8,
        ge=1,
        le=64,
        description="clips waiting while the model is busy are decoded together, up to this "
        "many (1 = off); a clip that finds the model idle never waits",
    )
    # The STT group's limit on work answered in the request (STT_TIME_LIMIT_S): noise can make
    # Whisper decode every window at every temperature of its fallback schedule.
    time_limit_s: float = Field(
        25.0,
        gt=0,
        description="a transcription answered in the request (/stt, /v1/audio/transcriptions) "
        "stops and answers 503 past this many seconds (API Gateway ends requests at 29 s)",
    )
