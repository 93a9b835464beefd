"""CDK entry point (`cdk synth` / `cdk deploy` from the repo root read cdk.json, which runs
this module). Options come from context; see infra/config.py and the README."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import DeployConfig
from infra.stack import SpeechApiStack


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    config = DeployConfig.from_context(app)
    SpeechApiStack(
        app,
        app.node.try_get_context("stack_name") or "SpeechApi",
        config=config,
        description="Speech API: text-to-speech to S3 URLs and speech-to-text",
    )
    # Every AWS Solutions finding must be fixed or acknowledged with a reason, or synth fails.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
