"""The hostile review, containers and codecs posted to /stt: boxes, elements, tables and tags
that declare far more than they hold, impossible sample formats, playlists and scripts that
would make FFmpeg open other files, and real audio with junk around it. Each gets the answer
pinned here (415 `unsupported_audio`, or a transcript) without the decoder allocating what the
file declares, and the server keeps serving (conftest's `review_api`)."""

from __future__ import annotations

import pytest

from devkit.clips import clip
from tests.support import hostile_audio as crafted
from tests.support.review import assert_answer

WAV = clip("arctic_a0007.wav").read()  # "And you always want to see it in the superlative degree."
REFUSED = (415, ("unsupported_audio", "file"))
DECODED = (200, None)

CASES = [
    # id, bytes, (status, (error code, param) of a 4xx or words in the transcript of a 200)
    ("codec: mp4 boxes nested 5,000 deep", crafted.deep_mp4(5000), REFUSED),
    ("codec: matroska element declaring 2^44 bytes (cues)", crafted.ebml_huge_element(), REFUSED),
    ("codec: flac seektable declaring 16 MB", crafted.flac_with_huge_seektable(), REFUSED),
    ("codec: mp3 with an ID3v2 tag declaring 256 MB", crafted.id3_huge(), REFUSED),
    ("codec: caf packet table declaring 2^31 packets", crafted.caf_huge_pakt(), REFUSED),
    ("codec: fragmented mp4, trun of 50 M samples", crafted.fragmented_mp4_trun(), REFUSED),
    ("codec: mp4 edit list declaring 10 M entries", crafted.mp4_elst_many(), DECODED),
    ("codec: wav with 1-bit samples", crafted.wav_fmt(1), DECODED),
    ("codec: wav with 64-bit integer samples", crafted.wav_fmt(64), DECODED),
    ("codec: wav with an unknown format tag", crafted.wav_fmt(16, 0x1234), REFUSED),
    (
        "codec: wav whose data size is 0xFFFFFFFF",
        crafted.wav_data_size_max(WAV),
        (200, "superlative"),
    ),
    ("codec: aiff declaring 0 channels", crafted.aiff_zero_channels(), REFUSED),
    ("codec: ogg page claiming 255 segments + junk", crafted.ogg_bad_pages(), REFUSED),
    ("codec: HLS playlist (not whitelisted)", crafted.hls_playlist(), REFUSED),
    ("codec: ffconcat script", crafted.ffconcat_script(), REFUSED),
    ("codec: 8 MB of zeros", b"\0" * 8_000_000, REFUSED),
    ("codec: wav followed by a zip", WAV + b"PK\x03\x04" + b"\0" * 5000, (200, "superlative")),
    ("codec: wav 16-bit at 192 kHz, 8 channels", crafted.wav_192k_8_channels(), DECODED),
    ("codec: webm/opus of silence", crafted.webm_opus_silence(), DECODED),
    ("codec: amr-nb header and garbage", crafted.amr_header_and_garbage(), DECODED),
    ("codec: asf header with a huge object size", crafted.asf_huge_object(), REFUSED),
]


@pytest.mark.parametrize("data,answer", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_crafted_audio(review_api, data, answer):
    r = review_api.post("/stt", content=data, headers={"content-type": "audio/wav"})
    assert_answer(r, *answer)
