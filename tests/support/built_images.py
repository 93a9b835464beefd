"""Which of the images `make image` builds are there to test (IMAGE_ENGINES, default: every
engine, picks the Lambda images)."""

from __future__ import annotations

import os

from devkit.images import ENGINES, GPU_IMAGE, lambda_image
from devkit.images.base import image_exists


def built_engines() -> list[str]:
    wanted = os.environ.get("IMAGE_ENGINES", ",".join(ENGINES)).split(",")
    return [e for e in wanted if e and image_exists(lambda_image(e))]


def gpu_image_built() -> bool:
    return image_exists(GPU_IMAGE)
