from datetime import timedelta

import pytest

from markets.cache import prices_write
from markets.models import PriceTick
from markets.selectors import prices_latest, tick_at_or_before
from markets.trust import trustworthy_ticks
from tests.markets.factories import NOW, price


@pytest.fixture(autouse=True)
def _symbols(settings, db):
    settings.MARKET_SYMBOLS = ["XAUUSD", "XAGUSD", "BTCUSD"]
    settings.PRICE_STALENESS_SECONDS = 30


def test_it_shows_the_latest_price_as_fresh_with_its_age():
    prices_write(prices=[price(age=1.25)])

    assert prices_latest(now=NOW) == [{
        "symbol": "XAUUSD", "bid": 4160.0, "ask": 4162.0, "price": 4161.0,
        "timestamp": "2026-11-25T11:59:58.750Z", "source": "swissquote", "age_seconds": 1.25, "stale": False,
    }]


def test_it_shows_the_last_known_price_as_stale_once_the_latest_expired(settings):
    settings.PRICE_CACHE_TTL_SECONDS = 0  # the latest copy expires as it is written
    prices_write(prices=[price("XAGUSD", "31.0", age=400)])

    (item,) = prices_latest(now=NOW)

    assert (item["symbol"], item["price"], item["stale"], item["age_seconds"]) == ("XAGUSD", 31.0, True, 400.0)


def test_it_marks_a_cached_price_older_than_the_staleness_limit_stale():
    prices_write(prices=[price(age=31)])

    assert prices_latest(now=NOW)[0]["stale"] is True


def test_it_falls_back_to_the_last_stored_tick_when_the_cache_is_empty():
    PriceTick.objects.create(symbol="BTCUSD", bid=1, ask=3, mid=2, source="kraken", fetched_at=NOW,
                             timestamp=NOW - timedelta(hours=1))
    PriceTick.objects.create(symbol="BTCUSD", bid=5, ask=7, mid=6, source="kraken", fetched_at=NOW,
                             timestamp=NOW - timedelta(minutes=1))

    (item,) = prices_latest(now=NOW)

    assert (item["price"], item["stale"], item["age_seconds"]) == (6.0, True, 60.0)


def test_it_remembers_the_stored_ticks_in_the_cache_instead_of_asking_the_database_each_time(
        django_assert_num_queries):
    PriceTick.objects.create(symbol="BTCUSD", bid=5, ask=7, mid=6, source="kraken", fetched_at=NOW,
                             timestamp=NOW - timedelta(minutes=1))

    with django_assert_num_queries(3):  # one per symbol: BTCUSD stored, the two others never priced
        first = prices_latest(now=NOW)
    with django_assert_num_queries(0):
        again = prices_latest(now=NOW)

    assert first == again
    assert [(i["symbol"], i["price"], i["stale"]) for i in again] == [("BTCUSD", 6.0, True)]


def test_it_leaves_out_symbols_never_priced_and_those_not_asked_for():
    prices_write(prices=[price(), price("BTCUSD", "84000")])

    assert [i["symbol"] for i in prices_latest(now=NOW)] == ["XAUUSD", "BTCUSD"]
    assert [i["symbol"] for i in prices_latest(now=NOW, symbols=["BTCUSD"])] == ["BTCUSD"]


@pytest.mark.parametrize(("demo", "sources"), [
    (False, {"swissquote", "median(coinbase,kraken)"}),
    (True, {"swissquote", "median(coinbase,kraken)", "simulated"}),
])
def test_it_filters_out_simulated_ticks_unless_in_demo_mode(settings, demo, sources):
    settings.DEMO_MODE = demo
    for source in ("swissquote", "median(coinbase,kraken)", "simulated"):
        PriceTick.objects.create(symbol="XAUUSD", bid=1, ask=1, mid=1, source=source, timestamp=NOW, fetched_at=NOW)

    assert set(PriceTick.objects.filter(trustworthy_ticks()).values_list("source", flat=True)) == sources


def test_it_finds_the_last_tick_at_or_before_a_time_within_the_age_limit():
    for seconds in (-20, -5, 0, 3):
        PriceTick.objects.create(symbol="XAUUSD", bid=1, ask=1, mid=100 + seconds, source="a", fetched_at=NOW,
                                 timestamp=NOW + timedelta(seconds=seconds))

    assert tick_at_or_before(symbol="XAUUSD", at=NOW, max_age=timedelta(seconds=30)).mid == 100
    assert tick_at_or_before(symbol="XAUUSD", at=NOW - timedelta(seconds=1),
                             max_age=timedelta(seconds=30)).mid == 95
    assert tick_at_or_before(symbol="XAUUSD", at=NOW - timedelta(seconds=21), max_age=timedelta(seconds=30)) is None
    assert tick_at_or_before(symbol="XAUUSD", at=NOW - timedelta(seconds=6), max_age=timedelta(seconds=20)).mid == 80
    assert tick_at_or_before(symbol="XAUUSD", at=NOW - timedelta(seconds=6), max_age=timedelta(seconds=10)) is None
