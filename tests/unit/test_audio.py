import io
import struct

import av
import numpy as np
import pytest

from devkit.clips import clip, load_clips
from speech_api.audio import (
    WHISPER_SAMPLE_RATE,
    change_tempo,
    decode_audio,
    decode_in_process,
    encode_audio,
)
from speech_api.errors import AudioTooLongError, EmptyAudioError, UnsupportedAudioError
from speech_api.formats import OUTPUT_FORMATS
from tests.support.audio_files import encode, tone, wav_with_header


def encode_with(codec: str, container: str, seconds: float, rate: int, layout="mono") -> bytes:
    return encode(tone(seconds, rate), rate, codec=codec, container=container, layout=layout)


@pytest.mark.parametrize("c", load_clips(), ids=lambda c: c.file)
def test_every_dev_clip_decodes_to_16k_mono_of_its_duration(c):
    audio = decode_audio(c.read(), max_seconds=60)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.source_sample_rate == c.sample_rate
    assert audio.source_channels == c.channels
    assert audio.duration_s == pytest.approx(c.duration_s, abs=0.06)


@pytest.mark.parametrize(
    "codec,container",
    [("libopus", "ogg"), ("libopus", "webm"), ("aac", "mp4"), ("pcm_s16le", "aiff")],
)
def test_other_containers_decode(codec, container):
    audio = decode_audio(encode_with(codec, container, 2.0, 48000), max_seconds=60)
    assert audio.duration_s == pytest.approx(2.0, abs=0.05)


def test_stereo_and_any_rate_become_mono_16k():
    audio = decode_audio(encode_with("pcm_s16le", "wav", 1.5, 44100, "stereo"), max_seconds=60)
    assert audio.source_channels == 2
    assert len(audio.samples) == pytest.approx(1.5 * WHISPER_SAMPLE_RATE, abs=20)


@pytest.mark.parametrize(
    "rate,layout,codec,container",
    [
        (8000, "mono", "pcm_s16le", "wav"),
        (44100, "stereo", "pcm_s16le", "wav"),
        (48000, "stereo", "libopus", "ogg"),
        (22050, "mono", "libmp3lame", "mp3"),
    ],
)
def test_decoding_matches_faster_whispers_own_decoder(rate, layout, codec, container):
    # Same samples as the library call, so our transcripts are the library's transcripts.
    from faster_whisper import decode_audio as library_decode

    data = encode(tone(2.0, rate), rate, codec=codec, container=container, layout=layout)
    ours = decode_audio(data, max_seconds=60).samples
    theirs = library_decode(io.BytesIO(data))
    assert len(ours) == len(theirs)
    assert np.array_equal(ours, theirs)


def test_audio_over_the_limit_is_refused_while_decoding():
    with pytest.raises(AudioTooLongError) as exc:
        decode_audio(clip("jfk_inaugural.flac").read(), max_seconds=5)
    assert exc.value.status_code == 413 and exc.value.code == "audio_too_long"


@pytest.mark.parametrize(
    "data,error",
    [
        (b"", EmptyAudioError),
        (b"hello, this is plainly text and not audio at all\n" * 20, UnsupportedAudioError),
        (
            bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)),
            UnsupportedAudioError,
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, UnsupportedAudioError),
    ],
    ids=["empty", "text", "random", "png"],
)
def test_non_audio_is_refused_with_a_client_error(data, error):
    with pytest.raises(error):
        decode_audio(data, max_seconds=60)


def test_wav_with_header_only_is_empty_audio():
    # A canonical 44-byte header: fmt chunk, then a data chunk that holds no samples.
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    header_only = (
        (b"RIFF" + struct.pack("<I", 36) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt)
        + b"data"
        + struct.pack("<I", 0)
    )
    assert len(header_only) == 44
    with pytest.raises(EmptyAudioError):
        decode_audio(header_only, max_seconds=60)


def test_wav_cut_inside_its_header_is_not_decodable():
    cut = encode_with("pcm_s16le", "wav", 0.0001, 16000)[:44]  # ends inside a LIST chunk
    with pytest.raises(UnsupportedAudioError):
        decode_audio(cut, max_seconds=60)


def test_truncated_mp3_keeps_what_decodes():
    data = clip("lj_LJ001-0004.mp3").read()
    audio = decode_audio(data[: len(data) // 2], max_seconds=60)
    assert 1.5 < audio.duration_s < 4.0


def test_pcm_is_raw_16_bit_little_endian():
    encoded = encode_audio(tone(1.0), 22050, "pcm")
    samples = np.frombuffer(encoded.data, "<i2")
    assert len(samples) == 22050 and encoded.sample_rate == 22050
    assert np.abs(samples).max() == pytest.approx(0.3 * 32767, rel=0.01)


@pytest.mark.parametrize("fmt", sorted(set(OUTPUT_FORMATS) - {"pcm"}))
def test_encoded_output_decodes_back_to_the_stated_rate_and_duration(fmt):
    encoded = encode_audio(tone(2.0), 22050, fmt)
    with av.open(io.BytesIO(encoded.data)) as c:
        assert c.streams.audio[0].rate == encoded.sample_rate
    assert encoded.duration_s == pytest.approx(2.0, abs=0.01)
    # Raw AAC (ADTS) cannot signal the encoder's priming samples: ~1-2 frames more.
    tolerance = 0.1 if fmt == "aac" else 0.05
    assert decode_audio(encoded.data, max_seconds=60).duration_s == pytest.approx(
        2.0, abs=tolerance
    )


@pytest.mark.parametrize("speed", [0.25, 0.5, 1.5, 4.0])
def test_tempo_change_scales_duration(speed):
    out = change_tempo(tone(2.0), 22050, speed)
    assert len(out) / 22050 == pytest.approx(2.0 / speed, rel=0.05)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"rate": 1, "block_align": 65535}, "sample rate of 1 Hz"),
        ({"rate": 2_000_000}, "sample rate of 2000000 Hz"),
        ({"rate": 16000, "channels": 64, "block_align": 128}, "64 channels"),
    ],
)
def test_implausible_headers_are_refused_before_decoding(header, message):
    data = wav_with_header(data_bytes=64000, **header)
    with pytest.raises(UnsupportedAudioError, match=message) as raised:
        decode_audio(data, max_seconds=60)
    assert raised.value.status_code == 415


def test_a_frame_is_counted_before_it_is_resampled():
    # 4 kHz is a plausible rate; 64000 bytes of it are 8 s. With a 5 s limit the first frame
    # already passes it, and it is refused without resampling it.
    data = wav_with_header(rate=4000, data_bytes=64000)
    with pytest.raises(AudioTooLongError):
        decode_audio(data, max_seconds=5)


def test_decoding_past_its_time_budget_is_stopped(monkeypatch):
    from speech_api.audio import budget

    # No time at all: the first read FFmpeg makes through our file object raises, and PyAV
    # hands that error back rather than FFmpeg's. (In this process: what the decoding child
    # runs; its settings cannot be patched from here.)
    monkeypatch.setattr(budget, "DECODE_BASE_S", -1.0)
    monkeypatch.setattr(budget, "DECODE_S_PER_AUDIO_S", 0.0)
    with pytest.raises(UnsupportedAudioError) as raised:
        decode_in_process(clip("arctic_a0007.wav").read(), [].append, 60, "file")
    assert raised.value.code == "decode_timeout"
