"""Audio in and out, from memory, with PyAV (FFmpeg).

- `decode`: any supported container to 16 kHz mono (what Whisper consumes), in memory or to
  PCM on disk, within
- `budget`: the time, length, format and memory limits one decode is held to,
- `sandbox` (the server's side) and `sandbox_helper` (the helper process and its children):
  each decode in a memory-capped child process;
- `sources`: decoded audio read a stretch at a time (`AudioSource`: an array or a PCM file);
- `encode`: PCM float32 to wav/mp3/ogg/flac, whole or streamed;
- `tempo`: speed change without a pitch change.
"""

from speech_api.audio.budget import decode_time_limit_s
from speech_api.audio.decode import (
    DecodedAudio,
    decode_audio,
    decode_channels,
    decode_channels_in_process,
    decode_file,
    decode_file_in_process,
    decode_in_process,
)
from speech_api.audio.encode import EncodedAudio, StreamEncoder, encode_audio
from speech_api.audio.sources import WHISPER_SAMPLE_RATE, ArrayAudio, AudioSource, PcmFile
from speech_api.audio.tempo import change_tempo

__all__ = [
    "WHISPER_SAMPLE_RATE",
    "ArrayAudio",
    "AudioSource",
    "DecodedAudio",
    "EncodedAudio",
    "PcmFile",
    "StreamEncoder",
    "change_tempo",
    "decode_audio",
    "decode_channels",
    "decode_channels_in_process",
    "decode_file",
    "decode_file_in_process",
    "decode_in_process",
    "decode_time_limit_s",
    "encode_audio",
]
