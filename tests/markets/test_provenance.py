"""Every FX pair from two sources (Swissquote, Kraken), and each tick's provenance: stored and shown.

Loopback stand-ins answer as Swissquote and as Kraken (its multi-pair answer in Kraken's
shape), as gold-api and Coinbase; the cycle runs as the job runs it, the API is asked over
Django's test client.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from markets.models import PriceTick
from markets.price import Price, quotes_decode, quotes_encode
from markets.tasks import fetch_prices
from tests.markets.factories import NOW, NOW_MS
from tests.markets.recorded import KRAKEN_ALL_PAIRS, KRAKEN_PATH, serve_all

FX = ["EURUSD", "GBPUSD", "USDJPY"]
# Kraken's EURUSD 3 % above Swissquote's 1.15610/1.15622.
KRAKEN_EUR_OFF = ("1.19078", "1.19091")


@pytest.fixture
def cycle(market_settings, httpserver, db, django_capture_on_commit_callbacks, settings):
    def run(*, after: int = 0, **serve):
        httpserver.clear()
        serve_all(httpserver, ts_ms=NOW_MS + after * 1000, updated=NOW + timedelta(seconds=after), **serve)
        with django_capture_on_commit_callbacks(execute=True):
            return fetch_prices(now=NOW + timedelta(seconds=after))
    return run


def shown(client, symbol):
    (item,) = client.get(f"/api/prices/?symbols={symbol}").json()["prices"]
    return item


def history(client, symbol, **query):
    query = {"start": "2026-11-25T11:00:00Z", "end": "2026-11-25T13:00:00Z", **query}
    return client.get(f"/api/prices/{symbol}/history/", query)


def test_it_shows_every_fx_pair_combined_from_swissquote_and_kraken(cycle, client, httpserver):
    cycle()

    # One Kraken request for bitcoin and the three fiat pairs.
    kraken = [r for r, _ in httpserver.log if r.path == KRAKEN_PATH]
    assert [r.query_string.decode() for r in kraken] == [KRAKEN_ALL_PAIRS]
    items = {symbol: shown(client, symbol) for symbol in FX}
    assert {s: (i["source"], i["bid"], i["ask"], i["price"]) for s, i in items.items()} == {
        "EURUSD": ("median(kraken,swissquote)", 1.15612, 1.156205, 1.1561625),
        "GBPUSD": ("median(kraken,swissquote)", 1.32013, 1.320275, 1.3202025),
        "USDJPY": ("median(kraken,swissquote)", 155.104, 155.1165, 155.11025),
    }


def test_it_stores_each_ticks_sources_with_bid_ask_and_quote_time(cycle):
    cycle()

    tick = PriceTick.objects.get(symbol="EURUSD")
    # Bid, ask, quote time in ms from the tick's own time (both quoted at NOW here).
    assert tick.sources == {"kraken": "1.15614 1.15619 0", "swissquote": "1.15610 1.15622 0"}
    assert set(PriceTick.objects.get(symbol="XAUUSD").sources) == {"goldapi", "swissquote"}


def test_it_shows_the_sources_in_the_history_on_request(cycle, client):
    cycle()

    plain = history(client, "EURUSD").json()["ticks"][0]
    detailed = history(client, "EURUSD", detail="sources").json()["ticks"][0]

    assert "sources" not in plain
    assert detailed["sources"] == [
        {"source": "kraken", "bid": 1.15614, "ask": 1.15619, "timestamp": "2026-11-25T12:00:00.000Z",
         "used": True, "set_aside": None},
        {"source": "swissquote", "bid": 1.1561, "ask": 1.15622, "timestamp": "2026-11-25T12:00:00.000Z",
         "used": True, "set_aside": None},
    ]


def test_it_refuses_two_fx_sources_3_percent_apart_under_the_default_fx_bound(cycle, client):
    summary = cycle(kraken={"ZEURZUSD": KRAKEN_EUR_OFF})
    cycle(after=5, kraken={"ZEURZUSD": KRAKEN_EUR_OFF})

    assert ("failed: EURUSD (swissquote (1.15616) and kraken (1.190845) disagree by 3.00%, beyond the "
            "agreement bound of 0.1%: no price)") in summary
    assert not PriceTick.objects.filter(symbol="EURUSD").exists()
    assert client.get("/api/prices/?symbols=EURUSD").json()["prices"] == []
    assert 'goldsocial_price_disagreements_total{symbol="EURUSD"} 2.0' in client.get("/metrics").content.decode()


def test_it_averages_two_fx_sources_3_percent_apart_when_the_operator_widens_the_bound(cycle, settings):
    settings.PRICE_AGREE_PERCENT_BY_SYMBOL = {**settings.PRICE_AGREE_PERCENT_BY_SYMBOL, "EURUSD": 5.0}

    summary = cycle(kraken={"ZEURZUSD": KRAKEN_EUR_OFF})

    assert summary == "6 prices: 6 fresh"
    tick = PriceTick.objects.get(symbol="EURUSD")
    assert (tick.source, tick.mid) == ("median(kraken,swissquote)", Decimal("1.1735025"))
    assert tick.sources["kraken"] == " ".join(KRAKEN_EUR_OFF) + " 0"


def test_it_sets_aside_a_source_jumping_3_percent_and_keeps_it_in_the_provenance(cycle, client):
    cycle()

    summary = cycle(after=5, kraken={"ZEURZUSD": KRAKEN_EUR_OFF})

    assert summary == "6 prices: 6 fresh"
    tick = PriceTick.objects.filter(symbol="EURUSD").latest("timestamp")
    assert (tick.source, tick.mid) == ("swissquote", Decimal("1.15616"))
    assert tick.sources["kraken"].startswith("1.19078 1.19091 0 jump of 3.00% from the last accepted 1.1561625")
    item = shown(client, "EURUSD")
    assert (item["source"], item["price"]) == ("swissquote", 1.15616)
    quotes = history(client, "EURUSD", detail="sources").json()["ticks"][-1]["sources"]
    assert [(q["source"], q["used"]) for q in quotes] == [("kraken", False), ("swissquote", True)]
    assert quotes[0]["set_aside"].startswith("jump of 3.00%")


def test_it_shows_no_sources_for_a_tick_stored_before_provenance(client, db):
    PriceTick.objects.create(symbol="EURUSD", bid=1, ask=2, mid="1.5", source="swissquote", timestamp=NOW,
                             fetched_at=NOW)

    (tick,) = history(client, "EURUSD", detail="sources").json()["ticks"]

    assert tick["sources"] == []


@pytest.mark.parametrize("detail", ["source", "SOURCES", "sources,all", "1"])
def test_it_answers_400_naming_a_bad_detail(client, db, detail):
    response = history(client, "EURUSD", detail=detail)

    assert response.status_code == 400
    assert "is not a detail: expected sources" in response.json()["detail"]


def test_it_takes_an_empty_detail_as_none(client, db):
    response = history(client, "EURUSD", detail="")

    assert response.status_code == 200


def test_it_documents_the_detail_parameter_and_the_sources_in_the_schema(client, db):
    schema = client.get("/api/schema/").content.decode()

    assert "name: detail" in schema and "TickQuote:" in schema and "set_aside:" in schema


def test_it_stores_quote_times_as_offsets_from_the_tick_and_reads_them_back():
    later = NOW + timedelta(milliseconds=1250)
    used = [Price.from_bid_ask(symbol="EURUSD", source="kraken", bid=Decimal("1.15614"), ask=Decimal("1.15619"),
                               timestamp=later),
            Price.from_bid_ask(symbol="EURUSD", source="swissquote", bid=Decimal("1.1561"), ask=Decimal("1.15622"),
                               timestamp=NOW)]
    stale = Price.from_bid_ask(symbol="EURUSD", source="old", bid=Decimal(1), ask=Decimal(2),
                               timestamp=NOW - timedelta(seconds=45))
    price = Price(symbol="EURUSD", bid=Decimal(1), ask=Decimal(1), mid=Decimal(1), timestamp=NOW, source="x",
                  quotes=tuple(used), set_aside=((stale, "stale (quote 45 s old, limit 30 s)"),))

    data = quotes_encode(price)

    assert data == {"kraken": "1.15614 1.15619 1250", "swissquote": "1.1561 1.15622 0",
                    "old": "1 2 -45000 stale (quote 45 s old, limit 30 s)"}
    assert quotes_decode(symbol="EURUSD", data=data, at=NOW) == (
        (used[0], None), (stale, "stale (quote 45 s old, limit 30 s)"), (used[1], None))
