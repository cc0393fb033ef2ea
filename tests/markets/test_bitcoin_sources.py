"""Bitcoin from three sources (Coinbase, Kraken, Bitstamp): the median of three, and a broken one set aside.

Loopback stand-ins answer with the recorded bodies (Bitstamp's written from its documented
format); the cycle runs as the job runs it.
"""

import statistics
from decimal import Decimal

import pytest

from markets.models import PriceTick
from markets.price import Price
from markets.tasks import fetch_prices
from tests.markets.factories import NOW
from tests.markets.recorded import BITSTAMP_PATH, COINBASE_PATH, KRAKEN_PATH, serve_all

# Bitstamp's ticker 8 % above the others: beyond any bound the trust rules use for bitcoin.
BITSTAMP_OFF = ("90682", "90684")


@pytest.fixture
def cycle(market_settings, httpserver, db, django_capture_on_commit_callbacks):
    def run(**serve):
        serve_all(httpserver, **serve)
        with django_capture_on_commit_callbacks(execute=True):
            return fetch_prices(now=NOW)
    return run


def test_it_stores_a_bitcoin_tick_with_the_quotes_of_all_three_sources(cycle, httpserver):
    cycle()

    asked = {request.path for request, _ in httpserver.log}
    assert {COINBASE_PATH, KRAKEN_PATH, BITSTAMP_PATH} <= asked
    tick = PriceTick.objects.get(symbol="BTCUSD")
    assert tick.source == "median(bitstamp,coinbase,kraken)"
    # Each source's bid, ask and quote time (ms from the tick's): all three were used.
    assert tick.sources == {"bitstamp": "83965 83967 0", "coinbase": "83894.035 83894.035 0",
                            "kraken": "84036.00000 84036.10000 0"}
    assert tick.mid == Decimal("83966")


def test_it_sets_a_broken_bitcoin_source_aside_as_an_outlier_and_prices_from_the_other_two(cycle):
    summary = cycle(bitstamp=BITSTAMP_OFF)

    assert summary == "6 prices: 6 fresh"
    tick = PriceTick.objects.get(symbol="BTCUSD")
    assert tick.source == "median(coinbase,kraken)"
    assert tick.mid == Decimal("83965.0425")
    price = Price.from_tick(tick)
    assert [q.source for q in price.quotes] == ["coinbase", "kraken"]
    [(aside, reason)] = price.set_aside
    assert (aside.source, aside.bid, aside.ask) == ("bitstamp", Decimal("90682"), Decimal("90684"))
    assert reason.startswith("outlier") and "90683" in reason, reason


def test_it_serves_bitcoin_quotes_that_agree_within_a_tenth_of_a_percent_of_their_median(cycle):
    # The stand-ins' bitcoin prices must pass any agreement bound the trust rules use, so that
    # every test relying on a BTCUSD price gets one.
    cycle()

    quotes = Price.from_tick(PriceTick.objects.get(symbol="BTCUSD")).quotes
    median = statistics.median(q.mid for q in quotes)
    assert len(quotes) == 3
    assert all(abs(q.mid - median) / median * 100 <= Decimal("0.1") for q in quotes), quotes


def test_it_sets_aside_a_bitcoin_source_3_percent_off_by_the_agreement_bound_not_the_jump_bound(cycle):
    # 3 % above Coinbase and Kraken: inside BTCUSD's jump bound (5), beyond its agreement bound (1).
    summary = cycle(bitstamp=("86484", "86486"))

    assert summary == "6 prices: 6 fresh"
    tick = PriceTick.objects.get(symbol="BTCUSD")
    assert (tick.source, tick.mid) == ("median(coinbase,kraken)", Decimal("83965.0425"))
    assert "agreement bound 1.0%" in tick.sources["bitstamp"]
