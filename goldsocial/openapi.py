"""Shapes of the API's error answers, for the OpenAPI schema: one definition per shape, so every
operation documents the bodies the server really sends (goldsocial/errors.py's exception handler)."""

from collections.abc import Iterable

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

_MESSAGES = {"type": "array", "items": {"type": "string"}}


class Refusal(serializers.Serializer):
    """What a refused request is answered with (every status but 400 field errors and 500):
    {"detail": "...", "code": "..."}. When the refusal is about one input, "field" names it and its
    messages are also under that name, as in DRF's field errors ({"field": "option", "option": [...]}).
    A refusal may add details of its own."""

    detail = serializers.CharField(help_text="what was refused and why, for people")
    code = serializers.CharField(help_text=(
        "why, for programs: the service's code (e.g. duplicate, not_yours, has_votes), or REST framework's "
        "(not_authenticated, permission_denied, not_found, throttled, parse_error)"))
    field = serializers.CharField(required=False, help_text="the input the refusal is about, when there is one")


# The component's reference, for schemas written out by hand (postprocessing hooks, unions).
REFUSAL_REF = {"$ref": "#/components/schemas/Refusal"}


def refused(description: str, codes: Iterable[str] = ()) -> OpenApiResponse:
    """A response with the refusal shape; `codes`: the service's codes this status can carry."""
    codes = list(codes)
    return OpenApiResponse(Refusal, description=f"{description} (code {', '.join(codes)})" if codes else description)


# NotFound (and a path under /api/ that matches no route), NotAuthenticated, PermissionDenied,
# Throttled and the pagination's "Invalid page.": the refusal shape with REST framework's code.
DETAIL = Refusal
NOT_FOUND = refused("no such resource (or page) (code not_found)")
NOT_AUTHENTICATED = refused("no valid session or token (session authentication comes first, so DRF answers "
                            "403, not 401) (code not_authenticated)")
THROTTLED = refused("too many requests: Retry-After says when to try again (code throttled)")

# A flat serializer's or a view's ValidationError: {"field": ["message", ...]}.
FIELD_ERRORS = OpenApiResponse({"type": "object", "additionalProperties": _MESSAGES},
                               description="what is wrong, by field")
# The prices views raise ValidationError with one message per field: {"field": "message"}.
FIELD_ERROR = OpenApiResponse({"type": "object", "additionalProperties": {"type": "string"}},
                              description="what is wrong, by field")
# A body: {"detail": "...", "code": "parse_error"} when it cannot be parsed; else its serializer's
# errors, where a list field's errors are one object per item and a nested object's an object.
_NESTED_FIELD_ERRORS = {
    "type": "object", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": {"oneOf": [
        {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "object"},
    ]}}
NESTED_FIELD_ERRORS = OpenApiResponse(
    _NESTED_FIELD_ERRORS, description="what is wrong: the body, or each field (nested fields by item or key)")


def field_errors_or_refused(description: str, codes: Iterable[str]) -> OpenApiResponse:
    """A 400 that is either the body's field errors or a service's refusal (with one of `codes`)."""
    return OpenApiResponse({"anyOf": [_NESTED_FIELD_ERRORS, REFUSAL_REF]},
                           description=f"{description} (refusal code {', '.join(codes)})")


def document_anonymous_read_throttle(result, generator, request, public):
    """Every read has the anonymous-read throttle (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES):
    an anonymous client over ANON_READ_RATE gets 429 from any GET."""
    for operations in result["paths"].values():
        if "get" in operations:
            operations["get"]["responses"].setdefault("429", {
                "description": THROTTLED.description, "content": {"application/json": {"schema": REFUSAL_REF}}})
    return result
