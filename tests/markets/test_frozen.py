"""Frozen feeds: a source unchanged for PRICE_FROZEN_SECONDS while another moved is set aside."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from markets.cache import seen_read, seen_write
from markets.models import PriceTick
from markets.tasks import fetch_prices
from markets.trust import Seen, frozen_sources, seen_update
from tests.markets.factories import NOW, NOW_MS, quote
from tests.markets.recorded import serve_all

LIMIT = timedelta(seconds=60)


def seen(**ages) -> dict[str, Seen]:
    return {source: Seen(bid=Decimal(1), ask=Decimal(2), since=NOW - timedelta(seconds=age))
            for source, age in ages.items()}


# --- the rule (markets.trust) --------------------------------------------------------------

def test_it_finds_a_source_unchanged_past_the_limit_while_another_moved():
    assert frozen_sources(seen=seen(a=61, b=3), now=NOW, frozen_after=LIMIT) == {"a": timedelta(seconds=61)}


def test_it_finds_nothing_frozen_when_no_other_source_moved():
    # A quiet market: every source still. Nothing says which one is wrong.
    assert frozen_sources(seen=seen(a=300, b=200), now=NOW, frozen_after=LIMIT) == {}
    assert frozen_sources(seen=seen(a=300), now=NOW, frozen_after=LIMIT) == {}


def test_it_finds_nothing_frozen_just_under_the_limit_or_when_turned_off():
    assert frozen_sources(seen=seen(a=59, b=1), now=NOW, frozen_after=LIMIT) == {}
    assert frozen_sources(seen=seen(a=600, b=1), now=NOW, frozen_after=timedelta(0)) == {}


def test_it_keeps_the_since_of_an_unchanged_quote_and_restarts_it_on_a_change():
    before = seen(a=30, b=30)

    after = seen_update(seen=before, quotes=[quote(1.5, "a", bid=1, ask=2), quote(1.6, "b", bid=1, ask=2.2)], now=NOW)

    assert after["a"] == before["a"]
    assert after["b"] == Seen(bid=Decimal(1), ask=Decimal("2.2"), since=NOW)


def test_it_keeps_the_state_of_a_source_that_did_not_answer():
    before = seen(a=30, b=30)

    assert seen_update(seen=before, quotes=[], now=NOW) == before


def test_it_keeps_the_state_in_redis_for_the_next_cycle_whichever_cluster_runs_it(redis_url):
    state = {"EURUSD": seen(swissquote=90, kraken=2)}

    seen_write(seen=state)

    assert seen_read(symbols=["EURUSD", "GBPUSD"]) == {"EURUSD": state["EURUSD"], "GBPUSD": {}}


# --- the cycle -------------------------------------------------------------------------------

@pytest.fixture
def cycle(market_settings, httpserver, db, django_capture_on_commit_callbacks):
    """A cycle `after` seconds past NOW, every provider answering fresh, Kraken's EURUSD as given."""
    market_settings.PRICE_FROZEN_SECONDS = 60

    def run(*, after: int, kraken_eur: tuple[str, str], **serve):
        serve_all(httpserver, ts_ms=NOW_MS + after * 1000, updated=NOW + timedelta(seconds=after),
                  kraken={"ZEURZUSD": kraken_eur}, **serve)
        with django_capture_on_commit_callbacks(execute=True):
            summary = fetch_prices(now=NOW + timedelta(seconds=after))
        httpserver.clear()
        return summary
    return run


def test_it_sets_aside_swissquote_frozen_while_kraken_moves_and_says_so(cycle, client):
    # Swissquote goes on answering with a fresh time and the same EURUSD bid and ask.
    cycle(after=0, kraken_eur=("1.15614", "1.15619"))
    cycle(after=30, kraken_eur=("1.15630", "1.15635"))

    summary = cycle(after=65, kraken_eur=("1.15640", "1.15645"))

    assert summary == "6 prices: 6 fresh; frozen: EURUSD (swissquote 65 s)"
    tick = PriceTick.objects.filter(symbol="EURUSD").latest("timestamp")
    assert (tick.source, tick.mid) == ("kraken", Decimal("1.156425"))
    assert tick.sources == {
        "kraken": "1.15640 1.15645 0",
        "swissquote": "1.15610 1.15622 0 frozen (bid and ask unchanged for 65 s while kraken moved)"}
    shown = client.get("/api/prices/?symbols=EURUSD").json()["prices"][0]
    assert (shown["source"], shown["price"]) == ("kraken", 1.156425)
    # Gold and the other pairs stood still on every source: nothing frozen there.
    assert PriceTick.objects.filter(symbol="GBPUSD").latest("timestamp").source == "median(kraken,swissquote)"


def test_it_keeps_a_still_source_while_it_is_under_the_limit(cycle):
    cycle(after=0, kraken_eur=("1.15614", "1.15619"))

    summary = cycle(after=55, kraken_eur=("1.15640", "1.15645"))

    assert summary == "6 prices: 6 fresh"
    assert PriceTick.objects.filter(symbol="EURUSD").latest("timestamp").source == "median(kraken,swissquote)"


def test_it_uses_swissquote_again_once_its_quote_moves(cycle):
    cycle(after=0, kraken_eur=("1.15614", "1.15619"))
    cycle(after=65, kraken_eur=("1.15640", "1.15645"))

    summary = cycle(after=70, kraken_eur=("1.15641", "1.15646"),
                    swissquote_fx={("EUR", "USD"): ("1.15636", "1.15648")})

    assert summary == "6 prices: 6 fresh"
    assert PriceTick.objects.filter(symbol="EURUSD").latest("timestamp").source == "median(kraken,swissquote)"


def test_it_never_calls_a_closed_market_frozen(cycle):
    saturday = 3 * 86_400  # Saturday noon: metals and FX closed, quotes still fresh
    cycle(after=saturday, kraken_eur=("1.15614", "1.15619"), xau_goldapi_price="4161.0")
    # The closed market's next rare poll is due.
    cache.delete_many([f"markets:closed-poll:{symbol}" for symbol in settings.SYMBOLS_ALL])

    summary = cycle(after=saturday + 90, kraken_eur=("1.15614", "1.15619"), xau_goldapi_price="4162.0")

    assert "frozen" not in summary
    ticks = PriceTick.objects.filter(symbol="XAUUSD").order_by("timestamp")
    assert [t.source for t in ticks] == ["median(goldapi,swissquote)"] * 2


def test_it_exports_how_long_each_source_stood_still_and_whether_it_is_frozen(client, settings, db):
    settings.MARKET_SYMBOLS = ["BTCUSD"]  # never closes: the gauge does not depend on the weekday
    settings.PRICE_FROZEN_SECONDS = 60
    now = timezone.now()
    seen_write(seen={"BTCUSD": {
        "coinbase": Seen(bid=Decimal(1), ask=Decimal(1), since=now - timedelta(seconds=200)),
        "kraken": Seen(bid=Decimal(1), ask=Decimal(2), since=now - timedelta(seconds=1))}})

    text = client.get("/metrics").content.decode()

    assert 'goldsocial_price_source_frozen{source="coinbase",symbol="BTCUSD"} 1.0' in text
    assert 'goldsocial_price_source_frozen{source="kraken",symbol="BTCUSD"} 0.0' in text
    line = next(x for x in text.splitlines()
                if x.startswith('goldsocial_price_source_unchanged_seconds{source="coinbase",symbol="BTCUSD"}'))
    assert 200 <= float(line.split()[-1]) < 260
