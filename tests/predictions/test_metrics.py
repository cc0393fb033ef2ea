from datetime import timedelta

import pytest

from tests.predictions.factories import NOW, add_tick, make_prediction, verify

pytestmark = pytest.mark.django_db


def test_it_exposes_predictions_by_status_and_verifications_by_kind(client, alice):
    make_prediction(alice)
    make_prediction(alice, verify_in=timedelta(days=1))
    add_tick(mid="2020", at=NOW + timedelta(hours=1))
    verify(NOW + timedelta(hours=1, minutes=1))
    text = client.get("/metrics").content.decode()
    assert 'goldsocial_predictions{status="verified"} 1.0' in text
    assert 'goldsocial_predictions{status="active"} 1.0' in text
    assert 'goldsocial_verifications_total{kind="automatic"} 1.0' in text
    assert 'goldsocial_verifications_total{kind="correction"} 0.0' in text
