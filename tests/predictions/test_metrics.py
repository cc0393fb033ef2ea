from datetime import timedelta

import pytest
from prometheus_client.utils import floatToGoString

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


def test_a_scrape_reads_the_counts_the_verifier_took_instead_of_counting(client, alice, redis_url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from predictions.tasks import verify_predictions

    make_prediction(alice)
    add_tick(mid="2020", at=NOW + timedelta(hours=1))
    verify_predictions(now=NOW + timedelta(hours=1, minutes=1))
    make_prediction(alice, verify_in=timedelta(days=1))  # after the verifier's count

    with CaptureQueriesContext(connection) as queries:
        text = client.get("/metrics").content.decode()

    assert not [q["sql"] for q in queries if "predictions_" in q["sql"]]
    assert 'goldsocial_predictions{status="verified"} 1.0' in text
    assert 'goldsocial_predictions{status="active"} 0.0' in text  # as of the verifier's run
    assert 'goldsocial_verifications_total{kind="automatic"} 1.0' in text
    stamp = floatToGoString((NOW + timedelta(hours=1, minutes=1)).timestamp())
    assert f"goldsocial_prediction_counts_timestamp_seconds {stamp}\n" in text
