"""Every refusal the predictions API answers has the one documented shape: the `Refusal` component
of /api/schema/ (goldsocial/errors.py), at the status the operation documents for it."""

from datetime import timedelta
from functools import cache

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from predictions.models import Prediction
from predictions.services.cancellation import CancellationRefused
from predictions.services.votes import VoteRefused
from tests.predictions.factories import make_prediction, vote

pytestmark = pytest.mark.django_db


@cache
def _schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _documented(path, status):
    """The schema of `status` on POST `path`, with the Refusal component among its alternatives."""
    content = _schema()["paths"][path]["post"]["responses"][str(status)]["content"]["application/json"]["schema"]
    return [*content.get("anyOf", [content])]


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _vote_closed(alice, bob):
    p = make_prediction(alice, created=timezone.now())
    Prediction.objects.filter(pk=p.pk).update(verify_time=timezone.now() - timedelta(seconds=1))
    return _client(bob).post(f"/api/predictions/{p.pk}/vote/", {"option": "A"}, format="json")


def _vote_unknown_option(alice, bob):
    p = make_prediction(alice, created=timezone.now())
    return _client(bob).post(f"/api/predictions/{p.pk}/vote/", {"option": "Z"}, format="json")


def _vote_duplicate(alice, bob):
    p = make_prediction(alice, created=timezone.now())
    vote(bob, p, "A", at=timezone.now())
    return _client(bob).post(f"/api/predictions/{p.pk}/vote/", {"option": "B"}, format="json")


def _cancel_not_yours(alice, bob):
    p = make_prediction(alice, created=timezone.now())
    return _client(bob).post(f"/api/predictions/{p.pk}/cancel/", format="json")


def _cancel_has_votes(alice, bob):
    p = make_prediction(alice, created=timezone.now())
    vote(bob, p, "A", at=timezone.now())
    return _client(alice).post(f"/api/predictions/{p.pk}/cancel/", format="json")


def _cancel_in(status):
    def cancel(alice, bob):
        p = make_prediction(alice, created=timezone.now())
        Prediction.objects.filter(pk=p.pk).update(status=status)
        return _client(alice).post(f"/api/predictions/{p.pk}/cancel/", format="json")
    return cancel


VOTE, CANCEL = "/api/predictions/{id}/vote/", "/api/predictions/{id}/cancel/"
# (operation, code, status, field, how to be refused so): the statuses are the API's promise.
CASES = [
    (VOTE, "closed", 400, "option", _vote_closed),
    (VOTE, "unknown_option", 400, "option", _vote_unknown_option),
    (VOTE, "duplicate", 409, "option", _vote_duplicate),
    (CANCEL, "not_yours", 403, None, _cancel_not_yours),
    (CANCEL, "has_votes", 409, None, _cancel_has_votes),
    (CANCEL, "already_resolved", 409, None, _cancel_in(Prediction.Status.VERIFIED)),
    (CANCEL, "already_cancelled", 409, None, _cancel_in(Prediction.Status.CANCELLED)),
]


@pytest.mark.parametrize(("path", "code", "status", "field", "refuse"), CASES, ids=[c[1] for c in CASES])
def test_it_answers_each_refusal_in_the_documented_shape(alice, bob, path, code, status, field, refuse):
    response = refuse(alice, bob)
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    component = _schema()["components"]["schemas"]["Refusal"]
    assert {"$ref": "#/components/schemas/Refusal"} in _documented(path, status)
    jsonschema.validate(body, component)
    # Exactly the documented keys: detail and code, and with a field its name and its messages.
    expected = {"detail", "code"} | ({"field", field} if field else set())
    assert set(body) == expected, body
    assert body.get("field") == field
    if field:
        assert body[field] == [body["detail"]]


def test_it_tries_every_code_the_api_can_refuse_with():
    tried = {(path, code) for path, code, *_ in CASES}
    assert tried == {(VOTE, code) for code in VoteRefused.STATUSES} | {(CANCEL, code) for code in
                                                                        CancellationRefused.STATUSES}


def test_it_gives_rest_frameworks_own_refusals_the_same_shape(alice):
    anonymous = APIClient().post("/api/predictions/1/vote/", {"option": "A"}, format="json")
    missing = _client(alice).post("/api/predictions/999999/vote/", {"option": "A"}, format="json")
    assert (anonymous.status_code, anonymous.json()["code"], set(anonymous.json())) == (
        403, "not_authenticated", {"detail", "code"})
    assert (missing.status_code, missing.json()["code"], set(missing.json())) == (
        404, "not_found", {"detail", "code"})
