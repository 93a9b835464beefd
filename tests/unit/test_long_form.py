"""The long-form path's parts: recordings decoded to PCM on disk (lying headers refused up
front), speech planned into chunks block by block without losing any at a block's edge, and
skipped speech found from the decoder's segments."""

import itertools

import numpy as np
import pytest
from faster_whisper.transcribe import Segment

from devkit.clips import joined_recording
from speech_api.audio import ArrayAudio, PcmFile, decode_file
from speech_api.engines import TranscriptionOptions
from speech_api.engines.stt.long_form import LongFormOptions, LongFormTranscriber, _Chunk
from speech_api.errors import AudioTooLongError

SR = 16_000


def segment(start: float, end: float, text: str = "words") -> Segment:
    return Segment(
        id=0,
        seek=0,
        start=start,
        end=end,
        text=text,
        tokens=[],
        avg_logprob=0.0,
        compression_ratio=1.0,
        no_speech_prob=0.0,
        words=None,
        temperature=0.0,
    )


def planner(**options) -> LongFormTranscriber:
    return LongFormTranscriber(decoder=None, options=LongFormOptions(**options))  # type: ignore[arg-type]


def test_speech_without_any_segment_over_it_is_found():
    chunk = _Chunk(0, 10 * SR, regions=((0, 10 * SR),))
    t = planner()
    # The decoder stopped after 4 s: the rest of the chunk's speech is uncovered.
    assert t._uncovered(chunk, [segment(0.0, 4.0)]) == [(int(4.5 * SR), 10 * SR)]
    # A sentence skipped in the middle.
    assert t._uncovered(chunk, [segment(0.0, 3.0), segment(6.0, 10.0)]) == [
        (int(3.5 * SR), int(5.5 * SR))
    ]
    # Coarse timestamps (a gap under a second once widened by the slack) are not a skip.
    assert t._uncovered(chunk, [segment(0.0, 4.0), segment(5.8, 10.0)]) == []
    # Silence between regions is not speech: nothing to decode there.
    two = _Chunk(0, 10 * SR, regions=((0, 3 * SR), (7 * SR, 10 * SR)))
    assert t._uncovered(two, [segment(0.2, 2.9), segment(7.1, 9.8)]) == []
    # A segment with no words covers nothing.
    assert t._uncovered(chunk, [segment(0.0, 10.0, text=" ")]) == [(0, 10 * SR)]


@pytest.fixture(scope="module")
def recording():
    return joined_recording(min_s=100, gap_s=0.5, seed=3)


def test_chunks_are_cut_at_pauses_and_no_longer_than_the_limit(recording):
    chunks = planner(chunk_s=15.0)._plan(recording.samples, offset=0)
    assert all(c.end - c.start <= 15 * SR for c in chunks)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    for (start, end), clip in zip(recording.spans, recording.clips, strict=True):
        inside = [c for c in chunks if c.start < end * SR and c.end > start * SR]
        assert inside, f"{clip.file} at {start:.1f} s is in no chunk"


def test_blocks_never_lose_or_split_speech_at_their_edges(recording):
    t = planner(chunk_s=15.0, block_s=30.0)  # many block edges inside speech
    chunks = [c for block, _ in t._blocks(ArrayAudio(recording.samples)) for c in block]
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    assert all(c.end - c.start <= 15 * SR for c in chunks)
    whole = t._plan(recording.samples, offset=0)  # the recording planned in one piece

    def covered(plan, start, end):
        return sum(
            min(c.end, end * SR) - max(c.start, start * SR)
            for c in plan
            if c.start < end * SR and c.end > start * SR
        )

    for (start, end), clip in zip(recording.spans, recording.clips, strict=True):
        in_blocks, in_one = covered(chunks, start, end), covered(whole, start, end)
        assert in_blocks >= 0.95 * in_one, f"{clip.file} at {start:.1f} s"
    # No chunk starts or ends inside an utterance (a block's edge is not a cut).
    regions = [r for c in whole for r in c.regions]
    margin = SR // 2
    for c in chunks:
        for edge in (c.start, c.end):
            assert not any(a + margin < edge < b - margin for a, b in regions), edge / SR
    done = [done_s for _, done_s in t._blocks(ArrayAudio(recording.samples))]
    assert done == sorted(done) and done[-1] == pytest.approx(recording.duration_s)


def flac_declaring(seconds: float) -> bytes:
    """One second of FLAC whose STREAMINFO claims ``seconds`` (the demuxer believes it)."""
    from speech_api.audio import encode_audio

    data = bytearray(encode_audio(np.full(SR, 0.01, np.float32), SR, "flac").data)
    assert data[:4] == b"fLaC"
    # STREAMINFO's total samples: the low 36 bits of the 8 bytes after its first 10.
    packed = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1) | int(seconds * SR)
    data[18:26] = packed.to_bytes(8, "big")
    return bytes(data)


def test_a_header_declaring_more_than_the_limit_is_refused_before_decoding(tmp_path):
    source = tmp_path / "ten-hours.flac"
    source.write_bytes(flac_declaring(10 * 3600))
    with pytest.raises(AudioTooLongError) as raised:
        decode_file(source, tmp_path / "out.pcm", max_seconds=4 * 3600)
    assert raised.value.message == (
        "The audio is 10 h 00 min long; the limit here is 4 h 00 min (14400 seconds)."
    )
    assert (tmp_path / "out.pcm").stat().st_size == 0  # nothing was decoded


def test_a_recording_decodes_to_pcm_on_disk_read_a_stretch_at_a_time(tmp_path, recording):
    from speech_api.audio import encode_audio

    source = tmp_path / "recording.flac"
    source.write_bytes(encode_audio(recording.samples, SR, "flac").data)
    pcm = decode_file(source, tmp_path / "audio.pcm", max_seconds=3600)
    assert isinstance(pcm, PcmFile) and pcm.samples == len(recording.samples)
    assert (tmp_path / "audio.pcm").stat().st_size == 2 * len(recording.samples)
    stretch = pcm.read(SR, 3 * SR)
    assert stretch.dtype == np.float32 and stretch.shape == (2 * SR,)
    assert np.abs(stretch - recording.samples[SR : 3 * SR]).max() < 2 / 32768
    assert pcm.read(pcm.samples - 10, pcm.samples + 100).shape == (10,)
    assert pcm.read(pcm.samples, pcm.samples + 5).shape == (0,)


def test_recovered_speech_that_repeats_its_neighbours_is_dropped():
    from speech_api.engines.stt.long_form import _repeats_neighbours

    placed = [
        segment(0.0, 4.0, "The cut on his chest is still dripping blood."),
        segment(6.0, 9.0, "Gad, your letter came."),
    ]
    # Coarse timestamps: the last words of the first segment looked uncovered.
    assert _repeats_neighbours(segment(4.5, 5.5, " still dripping blood"), placed)
    assert _repeats_neighbours(segment(5.0, 6.2, "Gad, your"), placed)
    # Words nobody said yet are kept.
    assert not _repeats_neighbours(segment(4.5, 5.5, "Yes, exactly."), placed)
    assert _repeats_neighbours(segment(4.5, 5.5, " ... "), placed)  # nothing to add


def test_a_requests_clip_goes_before_a_recordings_chunks():
    """`/stt` and the upload worker share a model under `make serve`: a recording queues a
    block of chunks at once, and a request's clip must not wait behind all of them."""
    from speech_api.engines.stt.whisper_queue import BatchQueue, Job

    # Nothing is submitted, so no worker runs batches: the test takes them itself.
    queue = BatchQueue(lambda jobs: None, batch_size=2, margin_frames=200, max_padding=1.5)
    options = TranscriptionOptions(language="en")
    queue.waiting = [Job(options, np.zeros((80, 1400)), 1400, chunked=True) for _ in range(6)]
    clip = Job(options, np.zeros((80, 500)), 500)
    queue.waiting.append(clip)
    taken = queue.take_batch()
    assert taken[0] is clip
    assert len(queue.waiting) == 7 - len(taken)
    # With no request waiting, the recording's chunks go oldest first.
    chunks = [Job(options, np.zeros((80, 1400)), 1400, chunked=True) for _ in range(3)]
    queue.waiting = list(chunks)
    assert queue.take_batch()[0] is chunks[0]
