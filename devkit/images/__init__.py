"""Build the images `cdk deploy` ships and run them the way Lambda and SageMaker do, on a
machine without a Docker engine (buildah, as root), and measure them.

- `base`: a stand-in for the Dockerfiles' `FROM` when its registry cannot be reached: Debian 12
  from Debian's own packages, with Python 3.11 as `python:3.11-slim-bookworm` has it.
- `build`: `buildah bud` of Dockerfile.lambda / Dockerfile.gpu with the host's pip
  configuration mounted read-only, and models from the bundled packages instead of the hub.
- `run`: a built image as a Lambda function (read-only root, /tmp tmpfs, non-root uid, the
  template's environment and command) or as a SageMaker / ECS container.

`python -m devkit.images build` is what `make image` runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from speech_api.engines import registry

REPO = Path(__file__).resolve().parents[2]
# Outside the repo, kept between runs (CI clones the repo afresh; the machine stays).
CACHE = Path(os.environ.get("IMAGE_CACHE", "/var/cache/speech-api-images"))

BASE_IMAGE = "localhost/speech-api-base:bookworm-py3.11"
LAMBDA_IMAGE = "localhost/speech-api-lambda"
GPU_IMAGE = "localhost/speech-api-gpu:latest"
# A Lambda image per registered TTS engine (the image without torch serves the other functions).
ENGINES = registry.tts_names()


def lambda_image(engine: str) -> str:
    return f"{LAMBDA_IMAGE}:{engine}"
