"""The one mapping from a transcription's options to faster-whisper's arguments, for every
decode path: the library's own `WhisperModel.transcribe` (whisper_fast's full-window path)
takes them as keyword arguments, and the trimmed, batched path (whisper_batch) reads the same
values here, over the library's defaults for what no option sets. The long-form path hands its
chunks to those two. A new option is a field of TranscriptionOptions and a line here."""

from __future__ import annotations

import inspect
from typing import Any

from faster_whisper import WhisperModel

from speech_api.engines.base import TranscriptionOptions

# faster-whisper's defaults, which `WhisperModel.transcribe` applies to every call we make.
LIBRARY_DEFAULTS: dict[str, Any] = {
    name: p.default
    for name, p in inspect.signature(WhisperModel.transcribe).parameters.items()
    if p.default is not inspect.Parameter.empty
}
# What one CTranslate2 `generate` call takes for its whole batch: clips share a batch only
# where these agree.
BATCH_WIDE = (
    "beam_size",
    "patience",
    "length_penalty",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "suppress_blank",
    "suppress_tokens",
    "max_initial_timestamp",
)


def whisper_arguments(
    options: TranscriptionOptions, *, beam_size: int, vad_filter: bool
) -> dict[str, Any]:
    """`WhisperModel.transcribe`'s keyword arguments for ``options`` on an engine configured
    with ``beam_size`` and ``vad_filter`` (STT_BEAM_SIZE, STT_VAD_FILTER). ``language`` is the
    options' own (None: detected; among ``options.languages`` where given, which the library
    has no argument for: each path detects, then passes its choice)."""
    arguments: dict[str, Any] = {
        "language": options.language,
        "task": options.task,
        "beam_size": beam_size,
        "vad_filter": vad_filter,
        "initial_prompt": options.prompt,
        "hotwords": options.hotwords,
        "word_timestamps": options.word_timestamps,
    }
    if options.temperature is not None:  # None: the library's fallback schedule
        arguments["temperature"] = options.temperature
    return arguments


def decoding(arguments: dict[str, Any]) -> dict[str, Any]:
    """Every argument the decode takes: ``arguments`` over the library's defaults."""
    return {**LIBRARY_DEFAULTS, **arguments}


def batch_key(arguments: dict[str, Any]) -> tuple:
    """What must agree for clips to share one `generate` call."""
    values = decoding(arguments)
    return tuple(
        tuple(v) if isinstance(v, list) else v for v in (values[name] for name in BATCH_WIDE)
    )


def greedy(arguments: dict[str, Any]) -> bool:
    """Whether the decode starts deterministic (temperature 0, the library's first step): the
    trimmed path decodes that way only, a sampling temperature goes to the library."""
    temperature = decoding(arguments)["temperature"]
    first = temperature[0] if isinstance(temperature, list | tuple) else temperature
    return first <= 0
