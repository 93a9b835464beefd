"""What the zip functions run: their code (the app and the handlers) and the Lambda layer from
layers/ that carries their dependencies, both built during `cdk synth` on this machine, without
Docker (CDK's local bundling), for Lambda's platform.

Zip functions load no model: the light routes (health, uploads, transcripts, models, docs, the
playground) need neither numpy, PyAV, CTranslate2 nor onnxruntime, so they start from a 49 MB layer
(26 MB zipped) instead of a 1 GB image.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.layout import REPO_ROOT
from layers import build as layer_build

# The zip functions' runtime: the Python the app and its tests run on, and the one
# layers/build.py builds for (python3.11 runs on Amazon Linux 2).
ZIP_RUNTIME = lambda_.Runtime.PYTHON_3_11
assert ZIP_RUNTIME.name == f"python{layer_build.PYTHON_VERSION}"
# What goes into the code package, beside each other at its root (= /var/task).
CODE_DIRS = {"speech_api": REPO_ROOT / "src" / "speech_api", "handlers": REPO_ROOT / "handlers"}


@jsii.implements(cdk.ILocalBundling)
class _LocalBuild:
    """CDK's bundling hook: build into CDK's output folder on this machine (never Docker)."""

    def __init__(self, build: Callable[[Path], None]):
        self._build = build

    def try_bundle(self, output_dir: str, *args, **options) -> bool:
        self._build(Path(output_dir))
        return True


def _bundling(build: Callable[[Path], None]) -> cdk.BundlingOptions:
    # The image is what CDK would use if local bundling declined; _LocalBuild never does.
    return cdk.BundlingOptions(image=ZIP_RUNTIME.bundling_image, local=_LocalBuild(build))


def build_code(out: Path) -> None:
    """The app and its handlers, byte-compiled as the layer is (unchecked-hash .pyc files:
    /var/task is read-only and CDK's zip has fixed timestamps; see layers/build.py) and
    readable by the function's user."""
    for name, source in CODE_DIRS.items():
        shutil.copytree(source, out / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    layer_build.byte_compile(out, "/var/task")
    layer_build.make_readable(out)


def function_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(CODE_DIRS["speech_api"]),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=_bundling(build_code),
    )


class LightLayer(Construct):
    """layers/light as a Lambda layer version, built for the functions' architecture."""

    def __init__(self, scope: Construct, construct_id: str, *, architecture: lambda_.Architecture):
        super().__init__(scope, construct_id)
        arch = architecture.name  # x86_64 or arm64

        def build(out: Path) -> None:
            layer_build.copy_tree(layer_build.build_layer("light", arch), out)

        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(layer_build.LAYERS / "light"),
                # Known before building, so an unchanged layer is neither rebuilt nor redeployed.
                asset_hash=layer_build.layer_key("light", arch),
                asset_hash_type=cdk.AssetHashType.CUSTOM,
                bundling=_bundling(build),
            ),
            compatible_runtimes=[ZIP_RUNTIME],
            compatible_architectures=[architecture],
            description="speech-api: the light functions' dependencies (layers/light, pinned by "
            "requirements.lock)",
        )
