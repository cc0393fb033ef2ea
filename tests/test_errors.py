"""goldsocial/errors.py: one refusal type, and the exception handler's two shapes."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound

from goldsocial.errors import ApplicationError, api_exception_handler
from predictions.services.cancellation import CancellationRefused
from predictions.services.deletion import DeletionRefused
from predictions.services.verification import VerificationRefused
from predictions.services.votes import VoteRefused


class Refused(ApplicationError):
    STATUSES = {"busy": 409}


def _answer(exc):
    response = api_exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_it_answers_a_refusal_with_its_code_message_and_status():
    assert _answer(Refused("it is busy", code="busy")) == (409, {"detail": "it is busy", "code": "busy"})


def test_it_names_the_field_and_gives_its_messages_as_drf_does():
    status, body = _answer(Refused("not that one", code="busy", field="option"))
    assert body == {"detail": "not that one", "code": "busy", "field": "option", "option": ["not that one"]}


def test_it_adds_a_refusals_extra_details():
    assert _answer(Refused("wait", code="busy", extra={"retry_in": 5}))[1] == {
        "detail": "wait", "code": "busy", "retry_in": 5}


def test_it_keeps_the_message_as_the_refusals_text():
    assert str(Refused("it is busy", code="busy")) == "it is busy"  # the admin shows it


def test_it_refuses_a_code_its_class_does_not_list():
    with pytest.raises(ValueError, match="Refused: unknown code 'bussy' \\(expected one of busy\\)"):
        Refused("x", code="bussy")


@pytest.mark.parametrize("status", [200, 401, 429, 500])
def test_it_refuses_a_status_that_is_not_a_refusals(status):
    with pytest.raises(ValueError, match=f"status {status} is not a refusal's"):
        ApplicationError("x", code="any", status=status)


@pytest.mark.parametrize("key", ["detail", "code", "field", "option"])
def test_it_refuses_extra_details_that_would_overwrite_its_own(key):
    with pytest.raises(ValueError, match="would overwrite"):
        Refused("x", code="busy", field="option", extra={key: 1})


def test_it_answers_a_services_validation_error_with_drfs_field_shape():
    error = ValidationError({"symbol": ["unknown symbol"], "options": ["two at least"]})
    assert _answer(error) == (400, {"symbol": ["unknown symbol"], "options": ["two at least"]})


def test_it_puts_a_validation_error_without_field_under_non_field_errors():
    assert _answer(ValidationError("nothing fits")) == (400, {"non_field_errors": ["nothing fits"]})


def test_it_gives_rest_frameworks_errors_their_code():
    assert _answer(NotFound()) == (404, {"detail": "Not found.", "code": "not_found"})


# Every service refusal, the admin's included (manual verification, deletion): one shape.
ALL_CODES = [(cls, code, status) for cls in (VoteRefused, CancellationRefused, VerificationRefused, DeletionRefused)
             for code, status in cls.STATUSES.items()]


@pytest.mark.parametrize(("cls", "code", "status"), ALL_CODES,
                         ids=[f"{c.__name__}-{code}" for c, code, _ in ALL_CODES])
def test_it_answers_every_services_refusal_in_the_one_shape(cls, code, status):
    answered, body = _answer(cls("refused", code=code))
    assert answered == status
    assert {"detail", "code"} <= set(body) <= {"detail", "code", "field", body.get("field")}
