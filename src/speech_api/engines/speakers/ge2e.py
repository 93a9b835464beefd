"""The GE2E speaker encoder adapter (resemblyzer's pretrained weights, run in onnxruntime): its
spec for the registry and how it loads (the encoder itself: ge2e_encoder.py; reading the
checkpoint without torch: torch_checkpoint.py).

Import-light: numpy, onnx and onnxruntime are imported when the encoder loads, which the model
manager does only for a request that asks for speakers."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from speech_api.engines.spec import EngineSettings, SpeakerEncoderSpec


class GE2ESettings(EngineSettings):
    """SPEAKERS_WEIGHTS, SPEAKERS_THREADS (config.SpeakersSettings holds them)."""

    weights: Path | None = Field(
        None,
        description="the GE2E encoder's checkpoint; unset: the one in the installed "
        "resemblyzer package",
    )
    threads: int = Field(
        0, ge=0, le=64, description="onnxruntime threads for the encoder; 0: one per usable core"
    )

    def summary(self) -> str:
        return f"speakers: ge2e ({self.weights or 'resemblyzer weights'})"


def load(settings: GE2ESettings, cache_dir: Path):
    from speech_api.engines.speakers.ge2e_encoder import GE2EEncoder
    from speech_api.machine import usable_cores

    return GE2EEncoder(settings.weights, threads=settings.threads or usable_cores())


SPEC = SpeakerEncoderSpec(
    name="ge2e",
    settings=GE2ESettings,
    # resemblyzer's wheel carries the weights; it is installed without its dependencies
    # (webrtcvad has no wheel), by the Makefile and the images, not by an extra.
    extra="",
    needs_torch=False,
    load=load,
    sample_rate=16_000,
    dimensions=256,
)
