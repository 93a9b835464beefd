"""Diarization scoring and the multi-speaker evaluation set built from the dev clips.

`speaker_error`: the share of reference speech time attributed to the wrong speaker, under the
best one-to-one mapping of hypothesis labels to reference speakers, with a collar (0.25 s by
default) around every reference turn boundary left unscored (where a turn starts or ends is
uncertain by that much in any reference). Speech the hypothesis leaves unlabelled is reported
apart (`missed`), so that a transcript that drops words does not pass for a good diarization.

`conversations()`: conversations made of real recordings of different people (the speech-dev
clips; one clip is one turn), with their reference turns, transcripts and speaker counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Turn = tuple[float, float, str]  # start s, end s, speaker

STEP_S = 0.01


@dataclass(frozen=True)
class SpeakerScore:
    error: float  # share of scored speech attributed to the wrong speaker
    missed: float  # share of scored speech with no hypothesis speaker
    scored_s: float
    mapping: dict[str, str]  # hypothesis label -> reference speaker


def speaker_error(reference: list[Turn], hypothesis: list[Turn], collar_s: float = 0.25):
    """Score ``hypothesis`` turns against ``reference`` turns (see the module docstring)."""
    end = max([t[1] for t in reference] + [t[1] for t in hypothesis] + [0.0])
    frames = int(np.ceil(end / STEP_S)) + 1
    ref_names = sorted({t[2] for t in reference})
    hyp_names = sorted({t[2] for t in hypothesis})
    ref = np.full(frames, -1, dtype=int)
    overlap = np.zeros(frames, dtype=int)
    scored = np.ones(frames, dtype=bool)
    for start, stop, name in reference:
        a, b = _frame(start), _frame(stop)
        ref[a:b] = ref_names.index(name)
        overlap[a:b] += 1
        c = _frame(collar_s)
        scored[max(0, a - c) : a + c] = False
        scored[max(0, b - c) : b + c] = False
    scored &= (ref >= 0) & (overlap == 1)  # overlapped speech is not scored
    hyp = np.full(frames, -1, dtype=int)
    for start, stop, name in hypothesis:
        hyp[_frame(start) : _frame(stop)] = hyp_names.index(name)
    total = int(scored.sum())
    if total == 0:
        return SpeakerScore(0.0, 0.0, 0.0, {})
    counts = np.zeros((len(hyp_names), len(ref_names)), dtype=int)
    labelled = scored & (hyp >= 0)
    np.add.at(counts, (hyp[labelled], ref[labelled]), 1)
    mapping, correct = _best_mapping(counts)
    attributed = int(labelled.sum())
    return SpeakerScore(
        error=(attributed - correct) / total,
        missed=(total - attributed) / total,
        scored_s=total * STEP_S,
        mapping={hyp_names[h]: ref_names[r] for h, r in mapping.items()},
    )


def _frame(seconds: float) -> int:
    return max(0, round(seconds / STEP_S))


def _best_mapping(counts: np.ndarray) -> tuple[dict[int, int], int]:
    """One-to-one hypothesis -> reference mapping maximizing the frames they share."""
    from scipy.optimize import linear_sum_assignment

    if counts.size == 0:
        return {}, 0
    rows, cols = linear_sum_assignment(-counts)
    mapping = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if counts[r, c] > 0}
    return mapping, int(sum(counts[r, c] for r, c in mapping.items()))


# --- the evaluation set ------------------------------------------------------------------------

# Who speaks in each dev clip (the manifest's `speaker`, shortened). The two ARCTIC sets are
# different men (their embeddings are 0.40-0.52 apart; within each set 0.86-0.91).
SPEAKERS = {
    "lj_": "LJ",
    "ls_1089": "LS1089",
    "ls_1221": "LS1221",
    "ls_1272": "LS1272",
    "ls_1995": "LS1995",
    "ls_2412": "LS2412",
    "arctic_aew": "AEW",
    "arctic_a00": "ARCTIC",
    "jfk": "JFK",
    "ami": "AMI",
}


def speaker_of(file: str) -> str:
    return next(name for prefix, name in SPEAKERS.items() if file.startswith(prefix))


@dataclass(frozen=True)
class Plan:
    name: str
    files: tuple[str, ...]
    gap_s: float  # silence between turns; 0.1 with `tight` (clips trimmed to their speech)
    tight: bool = False
    held_out: bool = False
    note: str = ""


# Tuning set: the window, threshold and smoothing settings were chosen on these.
# Held out: scored once with those settings (different pairings, orders and clips).
PLANS = (
    Plan(
        "2spk-fm-pauses",
        (
            "lj_LJ001-0001.wav",
            "arctic_aew_a0001.wav",
            "lj_LJ001-0003.flac",
            "arctic_aew_a0002.wav",
            "lj_LJ001-0004.mp3",
            "arctic_aew_a0003.wav",
        ),
        0.6,
    ),
    Plan(
        "2spk-mm-tight",
        (
            "arctic_a0007.wav",
            "ls_1272-128104-0000.wav",
            "arctic_a0008.wav",
            "ls_1272-141231-0002.mp3",
            "arctic_a0009.wav",
        ),
        0.1,
        tight=True,
    ),
    Plan(
        "3spk-pauses",
        (
            "ls_1221-135766-0002.wav",
            "arctic_a0007.wav",
            "lj_LJ001-0005.flac",
            "ls_1221-135766-0001.wav",
            "arctic_a0008.wav",
            "lj_LJ001-0006.mp3",
        ),
        0.5,
    ),
    Plan(
        "4spk-tight",
        (
            "lj_LJ001-0007.wav",
            "ls_1272-128104-0000.wav",
            "arctic_aew_a0001.wav",
            "ls_1221-135766-0002.wav",
            "lj_LJ001-0003.flac",
            "arctic_aew_a0002.wav",
            "ls_1272-141231-0002.mp3",
        ),
        0.1,
        tight=True,
    ),
    Plan(
        "3spk-librispeech",
        (
            "ls_1221-135766-0002.wav",
            "ls_1272-128104-0000.wav",
            "ls_1995-1837-0001.wav",
            "ls_1221-135766-0001.wav",
            "ls_1272-141231-0002.mp3",
        ),
        0.3,
        note="one corpus (LibriSpeech): no recording-condition difference to lean on",
    ),
    Plan(
        "1spk-lj",
        ("lj_LJ001-0001.wav", "lj_LJ001-0003.flac", "lj_LJ001-0004.mp3", "lj_LJ001-0005.flac"),
        0.4,
    ),
    Plan(
        "2spk-ff-pauses",
        (
            "lj_LJ001-0006.mp3",
            "ls_1221-135766-0002.wav",
            "lj_LJ001-0007.wav",
            "ls_1221-135766-0001.wav",
        ),
        0.5,
        held_out=True,
    ),
    Plan(
        "3spk-mmm-tight",
        (
            "arctic_aew_a0003.wav",
            "ls_1089-134686-0001.wav",
            "arctic_a0009.wav",
            "arctic_aew_a0001.wav",
            "arctic_a0007.wav",
        ),
        0.1,
        tight=True,
        held_out=True,
        note="three men; LS1089 and the ARCTIC speaker are the closest pair of voices here",
    ),
    Plan(
        "4spk-meeting",
        (
            "ami_ES2011a_headset0_40-46s.wav",
            "ls_1995-1837-0001.wav",
            "jfk_inaugural.flac",
            "ls_2412-153948-0000.flac",
        ),
        0.5,
        held_out=True,
        note="the AMI meeting excerpt (spontaneous speech, headset) and the 1961 JFK broadcast",
    ),
    Plan(
        "4spk-librispeech-tight",
        (
            "ls_2412-153948-0000.flac",
            "ls_1089-134686-0001.wav",
            "ls_1221-135766-0002.wav",
            "ls_1272-128104-0000.wav",
        ),
        0.1,
        tight=True,
        held_out=True,
        note="one corpus, back to back",
    ),
    Plan(
        "1spk-arctic",
        ("arctic_a0007.wav", "arctic_a0008.wav", "arctic_a0009.wav"),
        0.4,
        held_out=True,
    ),
)


@dataclass
class Conversation:
    plan: Plan
    samples: np.ndarray  # 16 kHz mono float32
    turns: list[Turn] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def speakers(self) -> int:
        return len({t[2] for t in self.turns})

    @property
    def duration_s(self) -> float:
        return len(self.samples) / 16_000

    @property
    def reference(self) -> str:
        return " ".join(self.texts)

    def wav(self) -> bytes:
        from speech_api.audio import encode_audio

        return encode_audio(self.samples, 16_000, "wav").data


def build(plan: Plan, noise_db: float = -60.0) -> Conversation:
    """The plan's clips, one turn each, joined with its gaps over a faint noise floor (a room,
    not digital silence). Reference turns: each clip's speech, from its first to its last
    voice activity."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from devkit.clips import clip
    from speech_api.audio import decode_audio

    parts: list[np.ndarray] = []
    turns: list[Turn] = []
    texts: list[str] = []
    t = 0
    gap = np.zeros(int(plan.gap_s * 16_000), dtype=np.float32)
    for file in plan.files:
        c = clip(file)
        samples = decode_audio(c.read(), max_seconds=120).samples
        speech = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300))
        first, last = speech[0]["start"], speech[-1]["end"]
        if plan.tight:  # the clip's speech only, 50 ms either side
            margin = 800
            samples = samples[max(0, first - margin) : last + margin]
            first, last = min(first, margin), min(first, margin) + (last - first)
        if parts:
            parts.append(gap)
            t += len(gap)
        turns.append(((t + first) / 16_000, (t + last) / 16_000, speaker_of(file)))
        texts.append(c.text)
        parts.append(samples)
        t += len(samples)
    audio = np.concatenate(parts)
    rng = np.random.default_rng(7)
    audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * 10 ** (noise_db / 20)
    return Conversation(plan, audio.astype(np.float32), turns, texts)


def conversations(held_out: bool | None = None) -> list[Conversation]:
    """The evaluation set (only the tuning or only the held-out part when asked)."""
    return [build(p) for p in PLANS if held_out is None or p.held_out == held_out]


def hypothesis_turns(segments) -> list[Turn]:
    """Turns from labelled transcript segments (anything with start, end, speaker)."""
    return [(s.start, s.end, s.speaker) for s in segments if s.speaker is not None]


def pcm_wav(channels: list[np.ndarray], rate: int = 16_000) -> bytes:
    """16-bit PCM WAV with one array per channel (padded to the longest)."""
    import io
    import wave

    length = max(len(c) for c in channels)
    frames = np.zeros((length, len(channels)), dtype=np.int16)
    for i, c in enumerate(channels):
        frames[: len(c), i] = (np.clip(c, -1, 1) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return buffer.getvalue()


@dataclass
class Call:
    wav: bytes  # two channels, 16 kHz
    turns: list[Turn]  # speaker = the channel, "ch_0" or "ch_1"
    texts: list[str]  # in speaking order


def two_channel_call(gap_s: float = 0.5) -> Call:
    """A call recorded one party per channel, as contact centres store them: LJ on the left
    channel, the ARCTIC speaker aew on the right, taking turns; each channel carries only
    faint noise while the other party speaks."""
    from devkit.clips import clip
    from speech_api.audio import decode_audio

    order = [
        ("lj_LJ001-0004.mp3", 0),
        ("arctic_aew_a0001.wav", 1),
        ("lj_LJ001-0006.mp3", 0),
        ("arctic_aew_a0002.wav", 1),
    ]
    pieces = [(decode_audio(clip(f).read(), max_seconds=60).samples, ch, f) for f, ch in order]
    total = sum(len(p) for p, _, _ in pieces) + int(gap_s * 16_000) * len(pieces)
    rng = np.random.default_rng(3)
    left, right = (rng.standard_normal(total).astype(np.float32) * 1e-3 for _ in range(2))
    turns: list[Turn] = []
    texts: list[str] = []
    t = 0
    for samples, channel, file in pieces:
        (left if channel == 0 else right)[t : t + len(samples)] += samples
        turns.append((t / 16_000, (t + len(samples)) / 16_000, f"ch_{channel}"))
        texts.append(clip(file).text)
        t += len(samples) + int(gap_s * 16_000)
    return Call(pcm_wav([left, right]), turns, texts)
