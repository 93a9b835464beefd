"""A stand-in for SageMaker's runtime API on loopback: `InvokeEndpoint` as botocore sends it
(`POST /endpoints/<name>/invocations`), passed to a container app's `POST /invocations` the
way SageMaker does, and the container's 4xx wrapped in a `ModelError` as SageMaker answers it."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def sagemaker_runtime(container_url: str, calls: list[dict]) -> Starlette:
    async def invoke(request: Request) -> Response:
        body = await request.body()
        calls.append({"endpoint": request.path_params["name"], "body": json.loads(body)})
        async with httpx.AsyncClient(base_url=container_url, timeout=60) as container:
            answer = await container.post(
                "/invocations",
                content=body,
                headers={
                    "content-type": request.headers["content-type"],
                    "accept": request.headers.get("accept", "*/*"),
                },
            )
        if answer.status_code >= 400:
            error = {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "Message": f"Received client error ({answer.status_code}) from primary",
                "OriginalMessage": answer.text,
                "OriginalStatusCode": answer.status_code,
                "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x",
            }
            return Response(
                json.dumps(error),
                status_code=424,
                headers={"x-amzn-ErrorType": "ModelError", "content-type": "application/json"},
            )
        headers = {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
        if "x-amzn-sagemaker-custom-attributes" in answer.headers:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = answer.headers[
                "x-amzn-sagemaker-custom-attributes"
            ]
        return Response(answer.content, media_type=answer.headers["content-type"], headers=headers)

    return Starlette(routes=[Route("/endpoints/{name}/invocations", invoke, methods=["POST"])])
