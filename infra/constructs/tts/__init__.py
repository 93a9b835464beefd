"""Where speech synthesis runs (context `gpu_tts`), one module per backend. Each module's
`build` adds what that backend needs to the stack and returns a `TtsBackend`: the TTS Lambda
function the functions should include (or None) and the integration the speech routes use when
they bypass Lambda. The rest of the stack never asks which backend it is.

- `none` (lambda_cpu): the TTS Lambda synthesizes on CPU and writes public/tts/ itself.
- `sagemaker`: the same app in a CUDA image (Dockerfile.gpu) on a SageMaker real-time
  endpoint; the TTS Lambda forwards synthesis to it (InvokeEndpoint).
- `ecs`: that image as an ECS service on GPU EC2 capacity behind an internal NLB; API Gateway
  sends the speech routes to it through a VPC link, with no TTS Lambda.
"""

from __future__ import annotations

from infra.constructs.tts import ecs, lambda_cpu, sagemaker
from infra.constructs.tts.backend import BuildTts, TtsBackend

# The one place gpu_tts is looked at.
TTS_BACKENDS: dict[str, BuildTts] = {
    "none": lambda_cpu.build,
    "sagemaker": sagemaker.build,
    "ecs": ecs.build,
}

__all__ = ["TTS_BACKENDS", "TtsBackend"]
