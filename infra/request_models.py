"""API Gateway request models, generated from the app's Pydantic request bodies so the gateway
validates exactly what the app accepts (a hand-written copy drifts).

Pydantic writes JSON Schema draft 2020-12; API Gateway models are draft 4. The conversion keeps
every validation keyword, turns the 2020-12 spellings into draft 4 ones (numeric
``exclusiveMinimum`` -> ``minimum`` + ``exclusiveMinimum: true``, ``const`` -> one-value
``enum``), inlines ``$defs`` references (API Gateway resolves ``$ref`` only to other models by
URL), drops annotations that do not validate (``title``, ``default``, ``examples``) and refuses
any keyword it does not know, so a new Pydantic construct fails the synth instead of silently
validating less.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_apigateway as apigw
from pydantic import BaseModel

# The one place the infrastructure imports the app's request bodies (the app may move these
# modules; only these lines change).
from speech_api.schemas import SpeechJobRequest, SpeechRequest, TTSRequest, UploadRequest

# API Gateway model name -> the Pydantic body it validates.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "TtsRequest": TTSRequest,
    "UploadRequest": UploadRequest,
    "SpeechRequest": SpeechRequest,
    "SpeechJobRequest": SpeechJobRequest,
}

_ANNOTATIONS = {"title", "default", "examples", "$defs"}
_PLAIN = {
    "description": "description",
    "enum": "enum",
    "format": "format",
    "pattern": "pattern",
    "required": "required",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "multipleOf": "multiple_of",
    "minItems": "min_items",
    "maxItems": "max_items",
    "uniqueItems": "unique_items",
    "minProperties": "min_properties",
    "maxProperties": "max_properties",
}


def draft4(model: type[BaseModel]) -> dict[str, Any]:
    """The model's request schema as a plain draft-4 dict (what API Gateway stores)."""
    schema = model.model_json_schema(mode="validation")
    converted = _convert(schema, schema.get("$defs", {}))
    return {"$schema": "http://json-schema.org/draft-04/schema#", **converted}


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        if name == node["$ref"] or name not in defs:
            raise ValueError(f"cannot inline $ref {node['$ref']!r}")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _convert({**defs[name], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key in _PLAIN or key == "type":
            out[key] = value
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(value, bool):
                out[key] = value
            else:
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
        elif key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = [_convert(sub, defs) for sub in value]
        elif key in ("items", "not") and isinstance(value, dict):
            out[key] = _convert(value, defs)
        elif key == "prefixItems":
            out["items"] = [_convert(sub, defs) for sub in value]
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else _convert(value, defs)
        else:
            raise ValueError(f"JSON Schema keyword {key!r} has no draft-4 conversion here")
    return out


def to_apigw(schema: dict[str, Any]) -> apigw.JsonSchema:
    """A draft-4 dict (from `draft4`) as CDK's `apigw.JsonSchema`."""
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            kwargs["schema"] = apigw.JsonSchemaVersion.DRAFT4
        elif key == "type":
            types = value if isinstance(value, list) else [value]
            converted = [getattr(apigw.JsonSchemaType, t.upper()) for t in types]
            kwargs["type"] = converted if isinstance(value, list) else converted[0]
        elif key == "properties":
            kwargs["properties"] = {name: to_apigw(sub) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf"):
            snake = {"anyOf": "any_of", "oneOf": "one_of", "allOf": "all_of"}[key]
            kwargs[snake] = [to_apigw(sub) for sub in value]
        elif key == "items":
            kwargs["items"] = (
                [to_apigw(sub) for sub in value] if isinstance(value, list) else to_apigw(value)
            )
        elif key == "not":
            kwargs["not_"] = to_apigw(value)
        elif key == "additionalProperties":
            kwargs["additional_properties"] = value if isinstance(value, bool) else to_apigw(value)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            kwargs["exclusive_minimum" if key == "exclusiveMinimum" else "exclusive_maximum"] = (
                value
            )
        else:
            kwargs[_PLAIN[key]] = value
    return apigw.JsonSchema(**kwargs)


def request_schema(model_name: str) -> apigw.JsonSchema:
    return to_apigw(draft4(REQUEST_MODELS[model_name]))
