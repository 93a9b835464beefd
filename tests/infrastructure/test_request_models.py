"""The gateway's request models are the app's Pydantic bodies: compared field by field (names,
required, types, enums from Literal, length and range limits, nullability, extra fields) with
the models read straight from Pydantic, and bodies judged the same way by both."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Literal

import annotated_types
import pytest
from jsonschema import Draft4Validator
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.request_models import REQUEST_MODELS, draft4
from tests.support.synth import VARIANTS

PY_TYPES = {str: "string", float: "number", int: "integer", bool: "boolean"}
LIMITS = {
    annotated_types.MinLen: ("minLength", "min_length"),
    annotated_types.MaxLen: ("maxLength", "max_length"),
    annotated_types.Ge: ("minimum", "ge"),
    annotated_types.Le: ("maximum", "le"),
}


def gateway_models(s) -> dict[str, dict]:
    return {
        m["Properties"]["Name"]: m["Properties"]
        for m in s.resources("AWS::ApiGateway::Model").values()
    }


def unwrap(annotation) -> tuple[type | None, set, bool, list]:
    """(python type, Literal values, nullable, constraint objects) of a field annotation."""
    nullable, constraints, literal = False, [], set()
    base = None
    stack = [annotation]
    while stack:
        a = stack.pop()
        origin = typing.get_origin(a)
        if origin is Annotated:
            inner, *meta = typing.get_args(a)
            constraints += meta
            stack.append(inner)
        elif origin in (typing.Union, types.UnionType):
            stack += typing.get_args(a)
        elif origin is Literal:
            literal |= set(typing.get_args(a))
            base = type(next(iter(literal)))
        elif a is type(None):
            nullable = True
        else:
            base = a
    return base, literal, nullable, constraints


def expected_limits(constraints) -> dict[str, float]:
    limits = {}
    for c in constraints:
        for kind, (keyword, attr) in LIMITS.items():
            if isinstance(c, kind):
                limits[keyword] = getattr(c, attr)
        for attr, keyword in (("min_length", "minLength"), ("max_length", "maxLength")):
            value = getattr(c, attr, None)
            if value is not None and not isinstance(
                c, annotated_types.MinLen | annotated_types.MaxLen
            ):
                limits[keyword] = value
    return limits


def alternatives(schema: dict) -> list[dict]:
    return schema.get("anyOf", [schema])


@pytest.mark.parametrize("name", sorted(REQUEST_MODELS))
def test_gateway_models_match_the_pydantic_bodies(synthesized, name):
    model = REQUEST_MODELS[name]
    for variant in VARIANTS:
        props = gateway_models(synthesized[variant])[name]
        assert props["ContentType"] == "application/json"
        schema = props["Schema"]
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        Draft4Validator.check_schema(schema)
        fields = model.model_fields
        assert set(schema["properties"]) == set(fields)
        assert set(schema.get("required", [])) == {n for n, f in fields.items() if f.is_required()}
        forbid = model.model_config.get("extra") == "forbid"
        assert schema.get("additionalProperties", True) is (not forbid)
        for field_name, field in fields.items():
            base, literal, nullable, constraints = unwrap(field.annotation)
            constraints += field.metadata
            options = alternatives(schema["properties"][field_name])
            non_null = [o for o in options if o.get("type") != "null"]
            assert len(non_null) == 1, (name, field_name, options)
            (value_schema,) = non_null
            assert value_schema["type"] == PY_TYPES[base], (name, field_name)
            assert nullable == any(o.get("type") == "null" for o in options), (name, field_name)
            if literal:
                assert set(value_schema["enum"]) == literal, (name, field_name)
            limits = expected_limits(constraints)
            limit_keywords = {"minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                              "exclusiveMaximum", "pattern", "multipleOf"}  # fmt: skip
            gateway_limits = {k: v for k, v in value_schema.items() if k in limit_keywords}
            assert gateway_limits == limits, (name, field_name)


def test_tts_format_lists_every_audio_format_the_app_writes(synthesized):
    """The hand-written copy this replaced had only mp3, wav, ogg and flac."""
    schema = gateway_models(synthesized["none"])["TtsRequest"]["Schema"]
    (formats,) = [o for o in alternatives(schema["properties"]["format"]) if "enum" in o]
    assert {"opus", "aac", "pcm"} <= set(formats["enum"])


BODIES = {
    "TtsRequest": [
        {"text": "Hello."},
        {"text": "Hello.", "voice": None, "format": None, "speed": 1},
        {"text": "Hello.", "format": "opus", "speed": 0.25},
        {"text": "Hello.", "format": "pcm", "speed": 4.0},
        {"text": "x" * 4096},
        {"text": ""},
        {"text": "x" * 4097},
        {"text": "Hello.", "speed": 4.5},
        {"text": "Hello.", "speed": 0.2},
        {"text": "Hello.", "format": "aiff"},
        {"text": "Hello.", "colour": "blue"},
        {"voice": "joe"},
        {"text": 5},
    ],
    "UploadRequest": [
        {"filename": "a.wav", "content_type": "audio/wav"},
        {"filename": "a.wav", "content_type": "audio/wav", "language": None},
        {"filename": "a.wav", "content_type": "audio/wav", "language": "x" * 16},
        {"filename": "a.wav", "content_type": "audio/wav", "language": "x" * 17},
        {"filename": "a" * 256, "content_type": "audio/wav"},
        {"filename": "a.wav"},
        {"filename": "a.wav", "content_type": "audio/wav", "size": 3},
        {"filename": "a.wav", "content_type": "audio/wav", "callback_url": "https://x.io/h"},
        {"filename": "a.wav", "content_type": "audio/wav", "callback_url": None},
        {"filename": "a.wav", "content_type": "audio/wav", "callback_url": "h" * 1001},
    ],
    "SpeechRequest": [
        {"model": "tts-1", "input": "Hi.", "voice": "alloy"},
        {"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "opus"},
        {"model": "tts-1", "input": "Hi.", "voice": "alloy", "stream_format": "sse"},
        {"model": "tts-1", "input": "Hi.", "voice": "alloy", "instructions": None},
        {"model": "tts-1", "input": "", "voice": "alloy"},
        {"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "ogg"},
        {"model": "tts-1", "input": "Hi.", "voice": "alloy", "speed": 5},
        {"model": "tts-1", "input": "Hi."},
    ],
}


@pytest.mark.parametrize("name", sorted(REQUEST_MODELS))
def test_gateway_and_app_judge_bodies_alike(synthesized, name):
    """Where the schema can say it, gateway and app agree. The app is stricter in one way the
    gateway need not copy: it trims text before counting (a blank text passes the gateway and
    gets the app's 400)."""
    validator = Draft4Validator(gateway_models(synthesized["none"])[name]["Schema"])
    model = REQUEST_MODELS[name]
    differ = []
    for body in BODIES[name]:
        try:
            model.model_validate(body)
            app_ok = True
        except ValidationError:
            app_ok = False
        if validator.is_valid(body) != app_ok:
            differ.append((body, "app accepts" if app_ok else "app rejects"))
    assert not differ, differ


class Nested(BaseModel):
    level: Literal["low", "high"]


class Exotic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(gt=0, lt=10)
    fixed: Literal["only"]
    nested: Nested | None = None
    tags: list[str] = Field(default_factory=list, max_length=3)
    pair: tuple[int, str] | None = None


def test_the_conversion_inlines_refs_and_rewrites_2020_12_keywords():
    schema = draft4(Exotic)
    Draft4Validator.check_schema(schema)
    count = schema["properties"]["count"]
    assert count["minimum"] == 0 and count["exclusiveMinimum"] is True
    assert count["maximum"] == 10 and count["exclusiveMaximum"] is True
    assert "$defs" not in schema and "$ref" not in str(schema)
    validator = Draft4Validator(schema)
    assert validator.is_valid({"count": 1, "fixed": "only", "nested": {"level": "low"}})
    assert not validator.is_valid({"count": 0, "fixed": "only"})
    assert not validator.is_valid({"count": 1, "fixed": "only", "nested": {"level": "mid"}})
    assert not validator.is_valid({"count": 1, "fixed": "only", "tags": ["a", "b", "c", "d"]})
    assert validator.is_valid({"count": 1, "fixed": "only", "pair": [1, "a"]})


def test_the_conversion_refuses_what_it_cannot_translate():
    class Keyed(BaseModel):
        weights: dict[Literal["a", "b"], int]

    with pytest.raises(ValueError, match="propertyNames"):
        draft4(Keyed)
