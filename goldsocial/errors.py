"""Every /api/ answer is JSON, errors included, in one of two shapes.

- A refusal: `{"detail": "<message>", "code": "<code>"}`, plus `"field": "<name>"` and that
  field's messages under its name (`"<name>": ["<message>"]`, DRF's field shape) when it is
  about one input, plus any details the refusal carries. Services raise `ApplicationError`;
  REST framework's own errors (not signed in, not found, throttled, a body that cannot be
  parsed...) get the same two keys, their `code` being DRF's (`not_authenticated`, ...).
- Field validation errors: DRF's field shape, `{"<field>": ["<message>", ...]}`, from a
  serializer or from a Django `ValidationError` raised by a service.

`api_exception_handler` (REST_FRAMEWORK's EXCEPTION_HANDLER) answers both for every view, so
views call their service and catch nothing; `api_not_found` and `server_error` cover what never
reaches a view. `ApplicationError` imports no app, so every layer may raise it.
"""

from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

# What a refusal may answer: bad input (400), not allowed (403), no such thing (404), the
# thing's state forbids it (409).
REFUSAL_STATUSES = frozenset({400, 403, 404, 409})
_RESERVED = frozenset({"detail", "code", "field"})


class ApplicationError(Exception):
    """A service's refusal: a message for people, a `code` for programs, the HTTP status it maps to.

    A subclass lists its codes and their statuses in `STATUSES`; raising one with a code it
    does not list is a bug, refused at once (clients branch on `code`, so a typo must not ship).
    `field` names the input the refusal is about; `extra` adds JSON-able details to the body.
    `str(error)` is the message (the admin shows it as is).
    """

    STATUSES: ClassVar[dict[str, int]] = {}

    def __init__(self, message: str, *, code: str, field: str | None = None,
                 extra: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message)
        if status is None:
            if code not in self.STATUSES:
                raise ValueError(f"{type(self).__name__}: unknown code {code!r} "
                                 f"(expected one of {', '.join(self.STATUSES) or 'none: pass status='})")
            status = self.STATUSES[code]
        if status not in REFUSAL_STATUSES:
            raise ValueError(f"{type(self).__name__}: status {status} is not a refusal's "
                             f"(expected one of {', '.join(map(str, sorted(REFUSAL_STATUSES)))})")
        clashes = (_RESERVED | {field}) & set(extra or {})
        if clashes:
            raise ValueError(f"{type(self).__name__}: extra keys {sorted(k for k in clashes if k)} "
                             "would overwrite the refusal's own")
        self.message = message
        self.code = code
        self.field = field
        self.extra = dict(extra or {})
        self.status = status

    @classmethod
    def codes(cls, status: int) -> list[str]:
        """The codes this refusal answers with `status` (for the API's schema)."""
        return [code for code, answered in cls.STATUSES.items() if answered == status]

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.field:
            data["field"] = self.field
            data[self.field] = [self.message]
        return {**data, **self.extra}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: a refusal's one shape, field errors DRF's field shape."""
    if isinstance(exc, ApplicationError):
        return Response(exc.body(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        # A service's field errors: as DRF's own (by field; a message for no field goes under
        # NON_FIELD_ERRORS_KEY, as a serializer's validate() would put it).
        no_field = api_settings.NON_FIELD_ERRORS_KEY
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {no_field: exc.messages}
        exc = exceptions.ValidationError(by_field)
    response = drf_exception_handler(exc, context)
    if (response is not None and not isinstance(exc, exceptions.ValidationError)
            and isinstance(response.data, dict) and set(response.data) == {"detail"}
            and isinstance(response.data["detail"], ErrorDetail)):
        response.data["code"] = response.data["detail"].code
    return response


@csrf_exempt  # any method: a POST to an unknown path is a 404, not a CSRF failure page
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": f"Not found: no API endpoint at {request.path[:200]} (see /api/docs/).",
                         "code": "not_found"}, status=404)


def server_error(request):
    """handler500 (DEBUG off): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
