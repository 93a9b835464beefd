"""A Lambda runtime that streams responses, for the functions behind API Gateway's STREAM
integrations (the speech and transcription routes):

    python -m speech_api.runtime.lambda_stream handlers.api.stream_handler

With `responseTransferMode: STREAM`, API Gateway invokes the function with
InvokeWithResponseStream and expects, as the payload, the proxy response's metadata as JSON
(`statusCode`, `headers`, `multiValueHeaders`, `cookies`), 8 NUL bytes, then the raw body, which
it passes to the client as it arrives
(https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
Lambda streams natively only from its Node.js runtimes; other languages need a custom runtime
that speaks the Runtime API's streaming mode, or the Lambda Web Adapter
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html). AWS's
Python client, awslambdaric (the image's default ENTRYPOINT), has none, so this module is that
runtime: it polls `/invocation/next` and POSTs each response with
`Lambda-Runtime-Function-Response-Mode: streaming` and `Transfer-Encoding: chunked`, one chunk
per piece the app sends; an error after the first byte is reported in the trailers
`Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (base64 JSON of
its type and message; the stack trace goes to the log)
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html). To Lambda that is still a
successful invocation (its Errors metric and the gateway's 5XX never count it), so each one is
also counted as the StreamErrors metric of the function, which the stack alarms on. Lambda does
not tell a function that the client has gone, so a streamed response's work is bounded by the
invocation's time left, less STREAM_MARGIN_S, after which the app is told its client has gone.
The handler it runs is an ordinary one (Powertools decorators included) that returns a
`StreamedResponse`. Before it imports the handler, this runtime marks the process as streamed
(`serving()`), so that an app built during the handler's init answers in streams
(runtime/aws_lambda.py asks).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection

RUNTIME_PREFIX = "/2018-06-01/runtime"
DELIMITER = b"\0" * 8
# What Node's awslambda.HttpResponseStream marks a metadata-prefixed stream with.
PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
# How Mangum reads REST (v1) events: no base path to strip, no header left out.
_MANGUM_CONFIG = {"api_gateway_base_path": "/", "text_mime_types": [], "exclude_headers": []}
# Set by `main` before the handler's import: this process answers through this runtime.
_serving = threading.Event()


def serving() -> bool:
    """Whether this runtime is the one serving this process (its responses are streamed)."""
    return _serving.is_set()


@dataclass
class StreamedResponse:
    """A proxy response whose body is produced while it is sent."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)
    body: Iterable[bytes] = ()

    def prelude(self) -> bytes:
        """The metadata and the delimiter: what API Gateway reads before the payload."""
        metadata = {
            "statusCode": self.status,
            "headers": self.headers,
            "multiValueHeaders": self.multi_value_headers,
            "cookies": [],
        }
        return json.dumps(metadata).encode() + DELIMITER

    @classmethod
    def from_proxy(cls, response: dict) -> StreamedResponse:
        """A buffered proxy response (statusCode, headers, body) sent in the streamed format."""
        body = response.get("body") or ""
        raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        return cls(
            response["statusCode"],
            dict(response.get("headers") or {}),
            dict(response.get("multiValueHeaders") or {}),
            [raw],
        )


class AsgiStreamer:
    """Runs an ASGI app on one event loop (its own thread, for the container's life, so what
    the app binds to a loop stays valid) and hands its response over as it is sent."""

    def __init__(self, app):
        self.app = app
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="asgi", daemon=True).start()

    def __call__(self, event: dict, context) -> StreamedResponse:
        from mangum.handlers import APIGateway
        from mangum.handlers.utils import handle_multi_value_headers

        request = APIGateway(event, context, _MANGUM_CONFIG)
        messages: queue.Queue = queue.Queue()
        budget_s = stream_budget_s(context)
        task = asyncio.run_coroutine_threadsafe(
            self._run(request.scope, request.body, messages, budget_s), self.loop
        )
        start = messages.get()
        if isinstance(start, BaseException):  # failed before answering: an invocation error
            raise start
        headers, multi = handle_multi_value_headers(start.get("headers") or [])
        return StreamedResponse(start["status"], headers, multi, self._body(messages, task))

    async def _run(
        self, scope: dict, body: bytes, messages: queue.Queue, budget_s: float | None
    ) -> None:
        received = False

        async def receive() -> dict:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Lambda does not say when the client behind API Gateway hangs up: past its budget
            # the work is told the client has gone, which stops it at its next step.
            if budget_s is None:
                await asyncio.Event().wait()  # until the task is cancelled
            else:
                await asyncio.sleep(budget_s)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            messages.put(message)

        try:
            await self.app(scope, receive, send)
        except BaseException as exc:  # handed to the reading thread
            messages.put(exc)
        messages.put(None)

    @staticmethod
    def _body(messages: queue.Queue, task) -> Iterator[bytes]:
        complete = False
        try:
            while (message := messages.get()) is not None:
                if isinstance(message, BaseException):
                    if complete:  # raised after answering in full (logged by the app)
                        continue
                    raise message
                if message["type"] != "http.response.body" or complete:
                    continue
                if chunk := message.get("body", b""):
                    yield chunk
                # The stream ends when the app does (as Mangum waits for it), not before.
                complete = not message.get("more_body", False)
            if not complete:  # the app gave up on the body (its work stopped): not a success
                raise StreamCutShort("the response ended before its last byte")
        finally:
            if not complete:
                task.cancel()  # the stream was cut short: stop the app


@dataclass
class InvocationContext:
    """The `context` Lambda handlers get (what Powertools reads from it)."""

    aws_request_id: str
    invoked_function_arn: str
    deadline_ms: int
    function_name: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    )
    function_version: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    )
    memory_limit_in_mb: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    )
    log_group_name: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
    )
    log_stream_name: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
    )
    client_context: object = None
    identity: object = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


class StreamCutShort(Exception):
    """The app ended a streamed response without its last byte."""


# Seconds kept back from an invocation's time for ending a stream cleanly (error trailers, the
# metric) rather than being killed at the timeout.
STREAM_MARGIN_S = 10.0
# Where the error after a first byte is counted (CloudWatch embedded metric format, one line
# on stdout): SpeechAPI / StreamErrors per function_name, which the stack alarms on.
METRIC_NAMESPACE = "SpeechAPI"
STREAM_ERRORS_METRIC = "StreamErrors"
# A trailer carries at most this much of the error's message.
MAX_TRAILER_MESSAGE = 512


def stream_budget_s(context) -> float | None:
    """How long a streamed response may run: the invocation's time left, less the margin."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining) or not remaining():
        return None
    return max(1.0, remaining() / 1000 - STREAM_MARGIN_S)


def error_payload(exc: BaseException) -> dict:
    """What Lambda's /error takes (the stack trace goes to the log, not only here)."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def trailer_payload(exc: BaseException) -> dict:
    """What an error after the first byte says in the trailers: its type and message, never a
    stack trace (the log has that). The message is one line, at most MAX_TRAILER_MESSAGE."""
    message = " ".join(str(exc).split())[:MAX_TRAILER_MESSAGE]
    return {"errorType": type(exc).__name__, "errorMessage": message}


def count_stream_error(error_type: str) -> None:
    """One StreamErrors count for this function, in CloudWatch's embedded metric format: an
    error after the first byte is, to Lambda, a successful invocation, so its Errors metric
    (and the gateway's 5XX) never counts it."""
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["function_name"]],
                    "Metrics": [{"Name": STREAM_ERRORS_METRIC, "Unit": "Count"}],
                }
            ],
        },
        "function_name": function,
        "error_type": error_type,
        STREAM_ERRORS_METRIC: 1,
    }
    print(json.dumps(record), flush=True)


class RuntimeClient:
    """The Runtime API (AWS_LAMBDA_RUNTIME_API), over plain HTTP/1.1."""

    def __init__(self, address: str):
        host, _, port = address.partition(":")
        self.host, self.port = host, int(port or 80)

    def _connection(self) -> HTTPConnection:
        return HTTPConnection(self.host, self.port, timeout=None)  # /next may wait long

    def next(self) -> tuple[dict, InvocationContext]:
        conn = self._connection()
        try:
            conn.request("GET", f"{RUNTIME_PREFIX}/invocation/next")
            response = conn.getresponse()
            event = json.loads(response.read())
            h = response.headers
        finally:
            conn.close()
        if trace := h.get("Lambda-Runtime-Trace-Id"):
            os.environ["_X_AMZN_TRACE_ID"] = trace  # where the X-Ray SDK reads it
        context = InvocationContext(
            aws_request_id=h["Lambda-Runtime-Aws-Request-Id"],
            invoked_function_arn=h.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            deadline_ms=int(h.get("Lambda-Runtime-Deadline-Ms") or 0),
        )
        return event, context

    def stream(self, request_id: str, response: StreamedResponse) -> None:
        """POST the response in streaming mode: the prelude, then each piece of the body as
        one chunk as soon as it exists; an error raised while producing the body ends the
        stream with the error trailers."""
        conn = self._connection()
        conn.putrequest("POST", f"{RUNTIME_PREFIX}/invocation/{request_id}/response")
        conn.putheader(RESPONSE_MODE_HEADER, "streaming")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", PRELUDE_CONTENT_TYPE)
        conn.putheader("Trailer", f"{ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}")
        conn.endheaders()
        body = iter(response.body)
        error: BaseException | None = None
        try:
            conn.send(_chunk(response.prelude()))
            while True:
                try:
                    piece = next(body)
                except StopIteration:
                    break
                except Exception as exc:  # the app failed mid-stream
                    error = exc
                    break
                if piece:
                    conn.send(_chunk(piece))
            trailers = b""
            if error is not None:
                print(
                    "[ERROR] response stream failed after its first byte:\n"
                    + "".join(traceback.format_exception(error)),
                    file=sys.stderr,
                    flush=True,
                )
                count_stream_error(type(error).__name__)
                encoded = base64.b64encode(json.dumps(trailer_payload(error)).encode())
                trailers = (
                    f"{ERROR_TYPE_TRAILER}: {type(error).__name__}\r\n".encode()
                    + f"{ERROR_BODY_TRAILER}: ".encode()
                    + encoded
                    + b"\r\n"
                )
            conn.send(b"0\r\n" + trailers + b"\r\n")
            conn.getresponse().read()
        finally:
            close = getattr(body, "close", None)
            if callable(close):
                close()  # stops the app if the stream was cut short
            conn.close()

    def error(self, request_id: str, exc: BaseException) -> None:
        self._post(f"invocation/{request_id}/error", error_payload(exc), type(exc).__name__)

    def init_error(self, exc: BaseException) -> None:
        self._post("init/error", error_payload(exc), "Runtime.ImportModuleError")

    def _post(self, path: str, payload: dict, error_type: str) -> None:
        conn = self._connection()
        try:
            conn.request(
                "POST",
                f"{RUNTIME_PREFIX}/{path}",
                body=json.dumps(payload).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Function-Error-Type": error_type,
                },
            )
            conn.getresponse().read()
        finally:
            conn.close()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def load_handler(name: str) -> Callable:
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)


def serve(client: RuntimeClient, handler: Callable, *, once: bool = False) -> None:
    while True:
        event, context = client.next()
        try:
            response = handler(event, context)
        except Exception as exc:  # reported to Lambda; the loop goes on
            traceback.print_exc()
            client.error(context.aws_request_id, exc)
        else:
            try:
                client.stream(context.aws_request_id, response)
            except OSError:
                traceback.print_exc()  # the Runtime API dropped the stream: next invocation
        if once:
            return


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m speech_api.runtime.lambda_stream MODULE.HANDLER")
    # Before the handler's import, whose init may build the app: it knows it streams.
    _serving.set()
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(args[0])
    except Exception as exc:
        client.init_error(exc)
        raise
    serve(client, handler)


if __name__ == "__main__":
    # Run as `python -m`: the app's later imports of this module get this copy, not a second
    # one with a flag of its own (`serving()`).
    sys.modules.setdefault(__spec__.name, sys.modules[__name__])
    main()
