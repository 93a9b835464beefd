"""What an API Gateway proxy event must look like before the ASGI adapter reads it.

API Gateway always sends well-formed events, but a function can be invoked directly (the
console's test button, a script, another service), and the adapters index and `.encode()` what
they find: a header whose value is a number or null, a JSON object as the body, no `path`, a
null `requestContext` or an event that is not an object at all raised inside them, an
invocation error (a 502 at the gateway, an Errors alarm). Each is answered here instead: 400
`invalid_event`, naming the field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from speech_api.errors import InvalidRequestError


def _refuse(field: str, why: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"The event's {field} {why}; this function takes API Gateway proxy events.",
        param=field,
        code="invalid_event",
    )


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "a number" if isinstance(value, int | float) else "?")


def _strings(
    event: Mapping, field: str, *, lists: bool = False, nullable: bool = True
) -> InvalidRequestError | None:
    """``field`` absent, null, or an object of strings (of lists of strings, ``lists``); with
    ``nullable`` an entry may be null (the adapters skip those)."""
    value = event.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return _refuse(field, f"is {_json_type(value)}, not an object")
    for name, item in value.items():
        if item is None and nullable:
            continue
        items = item if lists and isinstance(item, list) else [item]
        if lists and not isinstance(item, list):
            return _refuse(f"{field}.{name}", f"is {_json_type(item)}, not a list of strings")
        if not isinstance(name, str) or not all(isinstance(i, str) for i in items):
            return _refuse(f"{field}.{name}", "is not a string")
    return None


def event_problem(event: object) -> InvalidRequestError | None:
    """Why the adapter could not read ``event`` as a REST (v1) or HTTP API (v2) proxy event, or
    None when it can."""
    if not isinstance(event, Mapping):
        return InvalidRequestError(
            f"The event is {_json_type(event)}, not an object; this function takes "
            "API Gateway proxy events.",
            code="invalid_event",
        )
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return _refuse("requestContext", "is missing or not an object")
    if event.get("version") == "2.0":
        http = context.get("http")
        if not isinstance(http, Mapping) or not isinstance(http.get("method"), str):
            return _refuse("requestContext.http.method", "is missing or not a string")
        if not isinstance(event.get("rawPath"), str):
            return _refuse("rawPath", "is missing or not a string")
        if not isinstance(event.get("rawQueryString", ""), str):
            return _refuse("rawQueryString", "is not a string")
        if not isinstance(event.get("cookies") or [], list):
            return _refuse("cookies", "is not a list")
    else:
        for field in ("httpMethod", "path", "resource"):
            if not isinstance(event.get(field), str):
                return _refuse(field, "is missing or not a string")
        for field, lists in (
            ("multiValueHeaders", True),
            ("queryStringParameters", False),
            ("multiValueQueryStringParameters", True),
        ):
            if problem := _strings(event, field, lists=lists):
                return problem
    # Headers are encoded one by one (a null or a number raised there).
    if problem := _strings(event, "headers", nullable=False):
        return problem
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        return _refuse("body", f"is {_json_type(body)}, not a string")
    encoded = event.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        return _refuse("isBase64Encoded", "is not a boolean")
    if encoded and body:
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            # API Gateway always encodes correctly; a direct invoke may not.
            return InvalidRequestError(
                "The event's body is marked base64-encoded but is not valid base64.",
                param="body",
                code="invalid_body",
            )
    return None


def client_origin(event: object) -> str | None:
    """The request's Origin header, from an event that may be malformed."""
    headers = event.get("headers") if isinstance(event, Mapping) else None
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "origin" and isinstance(value, str):
            return value
    return None
