"""A prediction is due once its final price is fixed, and the price fetcher asks for that run at once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django_q.conf import Conf

from jobs.models import JobRun
from jobs.services import job_run
from predictions.models import Prediction
from predictions.selectors import predictions_due_exist
from predictions.services.verification import predictions_verify_due
from tests.markets.factories import NOW as MARKETS_NOW
from tests.markets.factories import providers_point_at
from tests.markets.recorded import serve_all
from tests.predictions.factories import NOW, add_tick, make_prediction, verify

pytestmark = pytest.mark.django_db
DEADLINE = NOW + timedelta(hours=1)  # a Monday: the market is open


def test_it_is_due_as_soon_as_a_tick_stamped_after_verify_time_is_stored(alice):
    prediction = make_prediction(alice)
    add_tick(mid="2020", at=DEADLINE - timedelta(seconds=2))
    assert not predictions_due_exist(now=DEADLINE + timedelta(seconds=1))
    assert verify(DEADLINE + timedelta(seconds=1)).batches == 0  # the price at verify_time could still come

    add_tick(mid="2100", at=DEADLINE + timedelta(milliseconds=500))  # the feed has moved past it

    assert predictions_due_exist(now=DEADLINE + timedelta(seconds=1))
    assert verify(DEADLINE + timedelta(seconds=1)).verified == 1
    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_at) == (Decimal("2020"), DEADLINE - timedelta(seconds=2))


def test_it_is_not_due_on_a_tick_of_another_symbol(alice):
    make_prediction(alice)
    add_tick(mid="2020", at=DEADLINE - timedelta(seconds=2))
    add_tick(symbol="XAGUSD", mid="30", at=DEADLINE + timedelta(seconds=1))

    assert not predictions_due_exist(now=DEADLINE + timedelta(seconds=2))


def test_it_is_not_due_on_an_untrustworthy_tick(alice):
    make_prediction(alice)
    add_tick(mid="2020", at=DEADLINE - timedelta(seconds=2))
    add_tick(mid="2020", at=DEADLINE + timedelta(seconds=1), source="simulated")

    assert not predictions_due_exist(now=DEADLINE + timedelta(seconds=2))


def test_it_is_not_due_before_verify_time_whatever_the_ticks(alice):
    make_prediction(alice)
    add_tick(mid="2020", at=DEADLINE + timedelta(seconds=1))  # a provider clock a little ahead

    assert not predictions_due_exist(now=DEADLINE - timedelta(milliseconds=1))
    assert verify(DEADLINE - timedelta(milliseconds=1)).batches == 0


def test_it_leaves_predictions_waiting_for_a_price_to_the_sweep(alice, settings):
    prediction = make_prediction(alice)
    add_tick(mid="2020", at=DEADLINE + timedelta(seconds=1))  # no tick at or before verify_time
    assert verify(DEADLINE + timedelta(seconds=2)).retried == 1

    assert not predictions_due_exist(now=DEADLINE + timedelta(seconds=7))
    assert predictions_verify_due(now=DEADLINE + timedelta(seconds=7), first_attempts_only=True).batches == 0
    assert predictions_verify_due(now=DEADLINE + timedelta(seconds=7)).retried == 1  # the sweep retries it
    prediction.refresh_from_db()
    assert prediction.verify_attempts == 2


@pytest.fixture
def providers_on_loopback(settings, httpserver, redis_url):
    providers_point_at(settings, httpserver.url_for("").rstrip("/"))
    serve_all(httpserver)  # every quote stamped MARKETS_NOW


def test_it_verifies_right_after_the_price_cycle_that_fixes_the_final_price(alice, providers_on_loopback,
                                                                            monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)  # run the enqueued verification here instead of in a cluster
    deadline = MARKETS_NOW - timedelta(seconds=2)  # the settle delay has not passed at the cycle
    prediction = make_prediction(alice, created=deadline - timedelta(hours=1), verify_in=timedelta(hours=1))
    add_tick(mid="2020", at=deadline - timedelta(seconds=3))

    run = job_run(key="price_fetcher", now=MARKETS_NOW)

    assert run.outcome == JobRun.Outcome.SUCCESS
    prediction.refresh_from_db()
    assert (prediction.status, prediction.final_price) == (Prediction.Status.VERIFIED, Decimal("2020"))


def test_it_keeps_the_price_run_a_success_when_the_verification_cannot_be_queued(alice, providers_on_loopback,
                                                                                monkeypatch):
    import django_q.tasks

    def broker_away(*args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(django_q.tasks, "async_task", broker_away)
    deadline = MARKETS_NOW - timedelta(seconds=2)
    prediction = make_prediction(alice, created=deadline - timedelta(hours=1), verify_in=timedelta(hours=1))
    add_tick(mid="2020", at=deadline - timedelta(seconds=3))

    run = job_run(key="price_fetcher", now=MARKETS_NOW)

    assert (run.outcome, run.summary) == (JobRun.Outcome.SUCCESS, "6 prices: 6 fresh")
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.ACTIVE  # the sweep verifies it
