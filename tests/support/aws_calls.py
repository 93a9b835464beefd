"""Records every AWS call the service code makes while the tests run (botocore's event hooks),
attributed to the Lambda function whose code path made it, as the IAM contract's input.

moto enforces no IAM, so the integration suite cannot see a missing permission. What it can
see is each call: service, operation, bucket, key prefix, and whether the code met (and relied
on) a "not found" answer, which in AWS needs s3:ListBucket. `tests/contracts/aws_calls.json`
holds the calls; the infrastructure suite checks each against the synthesized roles.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "aws_calls.json"

# The service method that makes a call (its module, its name) -> the function that runs it.
ENTRY_POINTS = {
    ("speech.py", "synthesize"): "Tts",
    ("upload_jobs.py", "create_upload"): "Api",
    ("upload_jobs.py", "get_transcript"): "Api",
    ("upload_jobs.py", "transcribe_object"): "Worker",
    ("upload_batches.py", "send_to_dead_letters"): "Worker",
}
# Keys are recorded by prefix: ids and hashes vary, the prefix is what IAM grants.
PREFIXES = ("public/tts/", "uploads/", "transcripts/")


def _function() -> str | None:
    for frame in traceback.extract_stack():  # outermost first: the entry point decides
        if "/speech_api/" in frame.filename:
            function = ENTRY_POINTS.get((Path(frame.filename).name, frame.name))
            if function is not None:
                return function
    return None


def _prefix(key: str | None) -> str | None:
    if key is None:
        return None
    return next((p for p in PREFIXES if key.startswith(p)), "other")


class Recorder:
    def __init__(self) -> None:
        self.calls: set[tuple] = set()

    def after_call(self, http_response, model, context, **_) -> None:
        params = context.get("speech_api_params", {})
        function = _function()
        if function is None:  # a test's own call (fixtures, assertions), not the service's
            return
        not_found = http_response is not None and http_response.status_code == 404
        self.calls.add(
            (
                function,
                model.service_model.service_name,
                model.name,
                _prefix(params.get("Key") or params.get("Prefix")),
                not_found,
            )
        )

    def before_parameter_build(self, params, context, **_) -> None:
        context["speech_api_params"] = {
            k: params.get(k) for k in ("Bucket", "Key", "Prefix") if params.get(k)
        }

    def presign(self, operation: str, key: str) -> None:
        function = _function()
        if function is not None:
            self.calls.add((function, "s3", operation, _prefix(key), False))

    def install(self, session) -> None:
        import botocore.signers

        session.events.register("before-parameter-build", self.before_parameter_build)
        session.events.register("after-call", self.after_call)
        # A presigned POST makes no call here; in AWS the upload is a PutObject signed with
        # the presigning role's credentials.
        original = botocore.signers.generate_presigned_post
        recorder = self

        def generate_presigned_post(client, Bucket, Key, *args, **kwargs):
            recorder.presign("PutObject", Key)
            return original(client, Bucket, Key, *args, **kwargs)

        botocore.signers.generate_presigned_post = generate_presigned_post

    def as_contract(self) -> list[dict]:
        merged: dict[tuple, bool] = {}
        for function, service, operation, prefix, not_found in self.calls:
            key = (function, service, operation, prefix)
            merged[key] = merged.get(key, False) or not_found
        return [
            {
                "function": f,
                "service": s,
                "operation": o,
                "prefix": p,
                "relies_on_not_found": merged[(f, s, o, p)],
            }
            for f, s, o, p in sorted(merged)
        ]


def load_contract() -> list[dict]:
    return json.loads(CONTRACT.read_text())
