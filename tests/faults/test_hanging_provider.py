"""A quote provider that hangs: the cycle ends inside its budget, other symbols are served.

Real HTTP over loopback with production timeouts; one provider path never answers (or
answers one byte a second, which a per-read timeout never catches).
"""

import time
from datetime import UTC, datetime

import pytest
from django.conf import settings

from markets.models import PriceTick
from markets.tasks import fetch_prices
from tests.faults.services import QuoteServer
from tests.markets.factories import BASE_URL_SETTINGS, PROVIDERS

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def quotes(settings, redis_url):
    server = QuoteServer()
    for name in BASE_URL_SETTINGS:
        setattr(settings, name, server.url)
    settings.MARKET_DATA_PROVIDERS = list(PROVIDERS)
    settings.MARKET_SYMBOLS = settings.SYMBOLS_ALL
    settings.MARKET_CLOSED_POLL_SECONDS = 1  # closed at the weekend: still poll every cycle
    yield server
    server.close()


def _cycle_seconds() -> tuple[float, str]:
    started = time.monotonic()
    summary = fetch_prices(now=datetime.now(UTC))
    return time.monotonic() - started, summary


@pytest.mark.parametrize("how", ["hang", "trickle"])
def test_it_ends_the_cycle_inside_its_budget_and_serves_the_other_symbols(quotes, how, caplog):
    getattr(quotes, how).add("/public-quotes/bboquotes/instrument/EUR/USD")
    budget = settings.JOB_INTERVALS["price_fetcher"]

    elapsed, summary = _cycle_seconds()

    assert elapsed < budget, (elapsed, summary)
    stored = set(PriceTick.objects.values_list("symbol", flat=True))
    assert stored - {"EURUSD"} == {"XAUUSD", "XAGUSD", "GBPUSD", "USDJPY", "BTCUSD"}, summary
    # EURUSD's other source, Kraken, prices it alone (not at the weekend, when its FX market
    # is closed and Kraken's weekend trading is not used).
    assert set(PriceTick.objects.filter(symbol="EURUSD").values_list("source", flat=True)) <= {"kraken"}
    # Closed at the weekend, so the summary counts EURUSD as closed; the log says why.
    assert any(r.getMessage().startswith("EURUSD: swissquote:") and "timeout" in r.getMessage()
               for r in caplog.records), caplog.text


def test_it_serves_every_symbol_again_once_the_provider_answers(quotes):
    quotes.trickle.add("/public-quotes/bboquotes/instrument/EUR/USD")
    _cycle_seconds()
    quotes.trickle.clear()

    _elapsed, summary = _cycle_seconds()

    # Swissquote's quote is in EURUSD's price again (with Kraken's on weekdays).
    latest = PriceTick.objects.filter(symbol="EURUSD").latest("timestamp")
    assert "swissquote" in latest.sources, summary
