from datetime import timedelta

import pytest
from django.utils import timezone

from markets.cache import prices_write
from markets.models import PriceTick
from tests.markets.factories import price


@pytest.fixture(autouse=True)
def _symbols(settings, db):
    settings.MARKET_SYMBOLS = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]


def make_ticks(symbol, start, count, step=timedelta(seconds=5)):
    PriceTick.objects.bulk_create([
        PriceTick(symbol=symbol, bid=100 + i, ask=102 + i, mid=101 + i, source="swissquote",
                  timestamp=start + i * step, fetched_at=start + i * step) for i in range(count)])


def test_it_lists_the_latest_prices(client):
    prices_write(prices=[price("EURUSD", "1.1562", now=timezone.now())])

    response = client.get("/api/prices/")

    assert response.status_code == 200
    (item,) = response.json()["prices"]
    assert set(item) == {"symbol", "bid", "ask", "price", "timestamp", "source", "age_seconds", "stale"}
    assert (item["symbol"], item["price"], item["stale"]) == ("EURUSD", 1.1562, False)


def test_it_filters_the_latest_prices_by_symbol_and_refuses_unknown_ones(client):
    prices_write(prices=[price("EURUSD", "1.1562"), price("BTCUSD", "84000")])

    assert [i["symbol"] for i in client.get("/api/prices/?symbols=btcusd").json()["prices"]] == ["BTCUSD"]
    response = client.get("/api/prices/?symbols=BTCUSD,DOGEUSD")
    assert response.status_code == 400
    assert "DOGEUSD" in response.json()["symbols"]


@pytest.mark.parametrize("symbols", ["", ",", "%20,%20"])
def test_it_answers_every_price_for_a_symbols_list_without_a_symbol(client, symbols):
    prices_write(prices=[price("EURUSD", "1.1562"), price("BTCUSD", "84000")])
    response = client.get(f"/api/prices/?symbols={symbols}")
    assert [i["symbol"] for i in response.json()["prices"]] == ["EURUSD", "BTCUSD"]


def test_it_ignores_empty_items_and_repeats_in_symbols(client):
    prices_write(prices=[price("EURUSD", "1.1562"), price("BTCUSD", "84000"), price("XAUUSD", "2650")])
    response = client.get("/api/prices/?symbols=btcusd,,EURUSD,BTCUSD,")
    assert [i["symbol"] for i in response.json()["prices"]] == ["EURUSD", "BTCUSD"]


def test_it_names_every_unknown_symbol(client):
    response = client.get("/api/prices/?symbols=DOGEUSD,XAUUSD,shibusd")
    assert response.status_code == 400
    assert response.json()["symbols"].startswith("unknown symbols 'DOGEUSD', 'SHIBUSD'; known symbols: XAUUSD")


def test_it_returns_history_oldest_first_within_the_range(client):
    start = timezone.now() - timedelta(minutes=10)
    make_ticks("XAUUSD", start, 10)
    make_ticks("XAGUSD", start, 10)

    response = client.get("/api/prices/xauusd/history/", {
        "start": (start + timedelta(seconds=10)).isoformat(), "end": (start + timedelta(seconds=20)).isoformat()})

    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "XAUUSD"
    assert [t["price"] for t in body["ticks"]] == [103.0, 104.0, 105.0]
    assert body["ticks"][0] == {"bid": 102.0, "ask": 104.0, "price": 103.0, "source": "swissquote",
                                "timestamp": body["ticks"][0]["timestamp"]}
    assert body["ticks"][0]["timestamp"].endswith("Z")
    assert (body["count"], body["truncated"], body["next_start"]) == (3, False, None)


def test_it_defaults_to_the_last_hour(client):
    now = timezone.now()
    make_ticks("BTCUSD", now - timedelta(minutes=90), 2, step=timedelta(minutes=60))

    body = client.get("/api/prices/BTCUSD/history/").json()

    assert body["count"] == 1


def test_it_caps_the_rows_and_says_where_to_continue(client, settings):
    settings.PRICE_HISTORY_MAX_ROWS = 4
    start = timezone.now() - timedelta(minutes=10)
    make_ticks("EURUSD", start, 6)

    body = client.get("/api/prices/EURUSD/history/", {"start": start.isoformat()}).json()

    assert body["count"] == 4 and body["truncated"] is True
    assert body["next_start"] == body["ticks"][-1]["timestamp"]


def test_it_answers_404_with_the_known_symbols_for_an_unknown_symbol(client):
    response = client.get("/api/prices/DOGEUSD/history/")

    assert response.status_code == 404
    assert "unknown symbol 'DOGEUSD'" in response.json()["detail"]
    assert "XAUUSD" in response.json()["detail"]


@pytest.mark.parametrize(("query", "field"), [
    ({"start": "yesterday"}, "start"),
    ({"end": "2026-13-01T00:00:00Z"}, "end"),
    ({"start": "2026-11-25T12:00:00Z", "end": "2026-11-25T11:00:00Z"}, "start"),
])
def test_it_answers_400_naming_a_bad_date(client, query, field):
    response = client.get("/api/prices/XAUUSD/history/", query)

    assert response.status_code == 400
    assert field in response.json()


def test_it_reads_an_offset_whose_plus_arrived_as_a_space(client):
    start = timezone.now() - timedelta(minutes=1)
    make_ticks("XAUUSD", start, 1)
    raw = (start - timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(60)).isoformat()

    response = client.get(f"/api/prices/XAUUSD/history/?start={raw}")  # "+01:00" unescaped

    assert response.status_code == 200 and response.json()["count"] == 1


def test_it_reads_an_offset_beyond_what_postgresql_takes(client):
    # ISO-8601 allows offsets up to 23:59; PostgreSQL refuses more than 15:59 (a server error).
    start = timezone.now() - timedelta(minutes=1)
    make_ticks("XAUUSD", start, 1)
    raw = (start - timedelta(seconds=1)).astimezone(timezone.get_fixed_timezone(20 * 60 + 5)).isoformat()

    response = client.get("/api/prices/XAUUSD/history/", {"start": raw})

    assert response.status_code == 200 and response.json()["count"] == 1


def test_it_answers_400_for_a_time_that_in_utc_is_before_year_one(client):
    response = client.get("/api/prices/XAUUSD/history/", {"start": "0001-01-01T00:00:00+20:00"})

    assert response.status_code == 400
    assert "start" in response.json()


def test_it_answers_400_for_an_end_so_early_that_no_default_start_exists(client):
    response = client.get("/api/prices/XAUUSD/history/?end=0001-01-01T00:10:00Z")

    assert response.status_code == 400
    assert "end" in response.json()


def test_it_documents_both_endpoints_with_their_shapes_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").content.decode()

    assert "/api/prices/{symbol}/history/:" in schema
    assert "PriceHistory:" in schema and "PriceItem:" in schema
