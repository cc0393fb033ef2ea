"""Shapes of the API's error answers, for the OpenAPI schema: one definition per shape, so every
operation documents the bodies the server really sends (DRF's exception handler and our views)."""

from drf_spectacular.utils import OpenApiResponse

_MESSAGES = {"type": "array", "items": {"type": "string"}}

# NotFound (and a path under /api/ that matches no route), PermissionDenied, Throttled and the
# pagination's "Invalid page.": {"detail": "..."}.
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
NOT_FOUND = OpenApiResponse(DETAIL, description="no such resource (or page)")
NOT_AUTHENTICATED = OpenApiResponse(DETAIL, description="no valid session or token (session authentication comes "
                                                        "first, so DRF answers 403, not 401)")
THROTTLED = OpenApiResponse(DETAIL, description="too many requests: Retry-After says when to try again")

# A flat serializer's or a view's ValidationError: {"field": ["message", ...]}.
FIELD_ERRORS = OpenApiResponse({"type": "object", "additionalProperties": _MESSAGES},
                               description="what is wrong, by field")
# The prices views raise ValidationError with one message per field: {"field": "message"}.
FIELD_ERROR = OpenApiResponse({"type": "object", "additionalProperties": {"type": "string"}},
                              description="what is wrong, by field")
# A body: {"detail": "..."} when it cannot be parsed; else its serializer's errors, where a list
# field's errors are one object per item and a nested object's an object.
NESTED_FIELD_ERRORS = OpenApiResponse(
    {"type": "object", "properties": {"detail": {"type": "string"}}, "additionalProperties": {"oneOf": [
        {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "object"},
    ]}},
    description="what is wrong: the body, or each field (nested fields by item or key)")


def document_anonymous_read_throttle(result, generator, request, public):
    """Every read has the anonymous-read throttle (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES):
    an anonymous client over ANON_READ_RATE gets 429 from any GET."""
    for operations in result["paths"].values():
        if "get" in operations:
            operations["get"]["responses"].setdefault("429", {
                "description": THROTTLED.description, "content": {"application/json": {"schema": DETAIL}}})
    return result
