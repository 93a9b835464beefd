"""The CDK app synthesized exactly as `cdk synth` does it: cdk.json's context and feature
flags, the cdk-nag AwsSolutions plugin (a finding that is neither fixed nor acknowledged fails
the synth); cfn-lint over a template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VARIANTS = ("none", "sagemaker", "ecs")

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def cdk_json_context() -> dict:
    return json.loads((REPO / "cdk.json").read_text())["context"]


class Synth:
    def __init__(self, app, stack, outdir: Path, seconds: float):
        from aws_cdk.assertions import Template

        self.app, self.stack, self.outdir, self.seconds = app, stack, outdir, seconds
        self.template = Template.from_stack(stack)
        self.json = self.template.to_json()
        self.template_path = outdir / f"{stack.stack_name}.template.json"

    def resources(self, kind: str) -> dict[str, dict]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == kind}

    def function_id(self, prefix: str) -> str:
        """The logical ID of the one Lambda function whose ID starts with `prefix` (e.g.
        "ApiFunction")."""
        (logical,) = [k for k in self.resources("AWS::Lambda::Function") if k.startswith(prefix)]
        return logical

    def function(self, prefix: str) -> dict:
        """That function's properties."""
        return self.json["Resources"][self.function_id(prefix)]["Properties"]


def synth(outdir: Path, **context) -> Synth:
    import aws_cdk as cdk

    from infra.app import build_app

    started = time.perf_counter()
    app = cdk.App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    build_app(app)
    app.synth()
    stack = next(c for c in app.node.children if isinstance(c, cdk.Stack))
    return Synth(app, stack, outdir, time.perf_counter() - started)


def cfn_lint(template_path: Path) -> subprocess.CompletedProcess:
    # W3005 (redundant DependsOn) is CDK-generated noise.
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--ignore-checks", "W3005", "--",
         str(template_path)],
        capture_output=True,
        text=True,
    )  # fmt: skip
