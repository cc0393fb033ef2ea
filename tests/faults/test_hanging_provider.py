"""A quote provider that hangs: the cycle ends inside its budget, other symbols are served.

Real HTTP over loopback with production timeouts; one provider path never answers (or
answers one byte a second, which a per-read timeout never catches). Each cycle runs at a
moment the test picks, once while the FX market trades and once at the weekend, so both
outcomes are checked on every day of the year; the quote server stamps its quotes with it.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from markets.hours import market_is_open
from markets.models import PriceTick
from markets.tasks import fetch_prices
from tests.faults.services import QuoteServer
from tests.markets.factories import BASE_URL_SETTINGS, PROVIDERS

pytestmark = [pytest.mark.django_db]

EURUSD_AT_SWISSQUOTE = "/public-quotes/bboquotes/instrument/EUR/USD"
WEDNESDAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York: the FX market trades
SATURDAY = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # the FX and metals market is closed
MOMENTS = {"weekday": WEDNESDAY, "weekend": SATURDAY}


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


def _cycle_seconds(quotes: QuoteServer, now: datetime) -> tuple[float, str]:
    quotes.clock = lambda: now
    started = time.monotonic()
    summary = fetch_prices(now=now)
    return time.monotonic() - started, summary


def test_the_moments_are_one_open_and_one_closed_fx_market():
    assert market_is_open(symbol="EURUSD", at=WEDNESDAY)
    assert not market_is_open(symbol="EURUSD", at=SATURDAY)


@pytest.mark.parametrize("when", MOMENTS)
@pytest.mark.parametrize("how", ["hang", "trickle"])
def test_it_ends_the_cycle_inside_its_budget_and_serves_the_other_symbols(quotes, how, when, caplog):
    getattr(quotes, how).add(EURUSD_AT_SWISSQUOTE)
    budget = settings.JOB_INTERVALS["price_fetcher"]

    elapsed, summary = _cycle_seconds(quotes, MOMENTS[when])

    assert elapsed < budget, (elapsed, summary)
    stored = set(PriceTick.objects.values_list("symbol", flat=True))
    eurusd = list(PriceTick.objects.filter(symbol="EURUSD").values_list("source", flat=True))
    if when == "weekday":
        # EURUSD's other source, Kraken, prices it alone.
        assert stored == {"XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"}, summary
        assert eurusd == ["kraken"], summary
        assert summary.startswith("6 prices: 6 fresh"), summary
    else:
        # Kraken's FX trades on at the weekend, which is not the market's price: set aside, so
        # EURUSD, whose only other source hangs, has none and counts as closed.
        assert stored == {"XAUUSD", "XAGUSD", "GBPUSD", "USDJPY", "BTCUSD"}, summary
        assert eurusd == [], summary
        assert summary.startswith("6 prices: 5 fresh, 1 closed"), summary
    # Either way the log says why Swissquote gave no EURUSD quote.
    assert any(r.getMessage().startswith("EURUSD: swissquote:") and "timeout" in r.getMessage()
               for r in caplog.records), caplog.text


@pytest.mark.parametrize("when", MOMENTS)
def test_it_serves_every_symbol_again_once_the_provider_answers(quotes, when):
    quotes.trickle.add(EURUSD_AT_SWISSQUOTE)
    _cycle_seconds(quotes, MOMENTS[when])
    quotes.trickle.clear()

    _elapsed, summary = _cycle_seconds(quotes, MOMENTS[when] + timedelta(seconds=5))

    latest = PriceTick.objects.filter(symbol="EURUSD").latest("timestamp")
    expected = {"weekday": {"kraken", "swissquote"}, "weekend": {"swissquote"}}[when]
    assert set(latest.sources) == expected, (latest.sources, summary)
    assert summary.startswith("6 prices: 6 fresh"), summary
