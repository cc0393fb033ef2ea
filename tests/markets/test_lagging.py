"""Ticks per symbol never go back in time: a lagging provider's older stamp is not stored.

The price cycle runs as the job runs it, against loopback stand-ins serving the recorded
bodies; a prediction is verified in between, as the verifier does it.
"""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from markets.cache import prices_read
from markets.models import PriceTick
from markets.selectors import last_stamps, tick_at_or_before
from markets.tasks import fetch_prices
from predictions.models import Prediction
from predictions.services.creation import prediction_create
from predictions.services.verification import predictions_verify_due
from tests.markets.factories import NOW
from tests.markets.recorded import serve_all
from tests.predictions.factories import SEED_OPTIONS, make_user

DEADLINE = NOW + timedelta(hours=1)  # a Wednesday, 13:00 UTC: every market open


@pytest.fixture
def cycle(market_settings, httpserver, db, django_capture_on_commit_callbacks, settings):
    """One cycle at `now`, Swissquote and gold-api stamping their quotes `stamped` (default `now`)."""
    settings.PREDICTION_NOTIFY_DELIVERY = "inline"

    def run(now, *, stamped=None, **serve):
        stamped = stamped or now
        httpserver.clear()
        serve_all(httpserver, ts_ms=int(stamped.timestamp() * 1000), updated=stamped, **serve)
        with django_capture_on_commit_callbacks(execute=True):
            return fetch_prices(now=now)
    return run


def test_it_does_not_store_a_price_stamped_before_the_last_stored_tick(cycle, caplog):
    cycle(NOW)

    # Swissquote, gold-api and Bitstamp answer with quotes 3 s older than the ticks already stored
    # (Kraken and Coinbase give no time: the fetch time is theirs).
    with caplog.at_level(logging.INFO, logger="markets.services"):
        summary = cycle(NOW + timedelta(seconds=5), stamped=NOW - timedelta(seconds=3))

    assert summary.startswith("6 prices: 6 behind; behind: XAUUSD (goldapi, swissquote stamped "
                              "2026-11-25T11:59:57.000Z, not after the last stored tick (2026-11-25T12:00:00.000Z): "
                              "not stored)")
    assert "BTCUSD (bitstamp stamped 2026-11-25T11:59:57.000Z" in summary
    assert PriceTick.objects.filter(timestamp__lt=NOW).count() == 0
    assert PriceTick.objects.count() == 6
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and r.getMessage().startswith("EURUSD: ")]
    assert "swissquote stamped 2026-11-25T11:59:57.000Z" in warned[0].getMessage()


def test_it_does_not_store_a_second_tick_with_the_same_stamp(cycle, caplog):
    cycle(NOW)

    with caplog.at_level(logging.INFO, logger="markets.services"):
        summary = cycle(NOW + timedelta(seconds=5), stamped=NOW)

    assert "6 behind" in summary
    assert PriceTick.objects.filter(symbol="XAUUSD").count() == 1
    # A source that has not moved on since the last tick is normal: said, not warned about.
    said = [r for r in caplog.records if r.getMessage().startswith("XAUUSD: ") and "not stored" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO]


def test_it_keeps_showing_the_last_stored_price_as_latest_while_nothing_newer_comes(cycle):
    cycle(NOW)
    stored = PriceTick.objects.get(symbol="XAUUSD")

    cycle(NOW + timedelta(seconds=5), stamped=NOW - timedelta(seconds=3))

    latest, _ = prices_read(symbols=["XAUUSD"])["XAUUSD"]
    assert (latest.mid, latest.timestamp) == (stored.mid, stored.timestamp)


def test_it_stores_the_next_price_stamped_after_the_last_tick(cycle):
    cycle(NOW)
    cycle(NOW + timedelta(seconds=5), stamped=NOW - timedelta(seconds=3))

    summary = cycle(NOW + timedelta(seconds=10))

    assert summary == "6 prices: 6 fresh"
    assert last_stamps(symbols=["XAUUSD", "EURUSD"]) == {"XAUUSD": NOW + timedelta(seconds=10),
                                                         "EURUSD": NOW + timedelta(seconds=10)}


def test_it_keeps_a_verified_predictions_final_price_when_a_lagging_quote_comes_after_the_deadline(cycle):
    cycle(DEADLINE - timedelta(hours=1, seconds=1))
    prediction, _ = prediction_create(creator=make_user("alice"), symbol="XAUUSD", question="Gold?",
                                      verify_time=DEADLINE, verification="auto", options=SEED_OPTIONS,
                                      now=DEADLINE - timedelta(hours=1))
    cycle(DEADLINE - timedelta(seconds=2))
    cycle(DEADLINE + timedelta(seconds=10))  # the feed has moved past the deadline: due
    assert predictions_verify_due(now=DEADLINE + timedelta(seconds=11)).verified == 1
    prediction.refresh_from_db()
    before = tick_at_or_before(symbol="XAUUSD", at=DEADLINE, max_age=timedelta(seconds=30))

    # Swissquote and gold-api lag: their quotes are stamped 1 s before the deadline, at another price.
    cycle(DEADLINE + timedelta(seconds=15), stamped=DEADLINE - timedelta(seconds=1), xau_goldapi_price="4180.0")

    after = tick_at_or_before(symbol="XAUUSD", at=DEADLINE, max_age=timedelta(seconds=30))
    assert after.pk == before.pk
    assert (after.mid, after.timestamp) == (prediction.final_price, prediction.final_price_at)
    assert prediction.final_price == Decimal("4161.0125")
    assert Prediction.objects.get(pk=prediction.pk).final_price == prediction.final_price
