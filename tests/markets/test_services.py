"""The whole price cycle over loopback HTTP (the trust rules alone: test_trust.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from markets.cache import prices_read
from markets.models import PriceTick
from markets.services import PricesUnavailable, price_ticks_prune
from markets.tasks import fetch_prices
from tests.markets.factories import NOW, NOW_MS
from tests.markets.recorded import BITSTAMP_PATH, SQ_PATH, SWISSQUOTE_XAG, bitstamp_at, serve_all, swissquote_at

# --- the cycle ----------------------------------------------------------------------------------

@pytest.fixture
def cycle(market_settings, db, django_capture_on_commit_callbacks):
    """Run the job's entry point as the runner does, with its on-commit work executed."""
    def run(now=NOW):
        with django_capture_on_commit_callbacks(execute=True):
            return fetch_prices(now=now)
    return run


def test_it_prices_all_six_symbols_from_the_recorded_bodies(httpserver, cycle):
    serve_all(httpserver)

    summary = cycle()

    assert summary == "6 prices: 6 fresh"
    ticks = {t.symbol: t for t in PriceTick.objects.all()}
    assert set(ticks) == {"XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"}
    assert ticks["XAUUSD"].source == "median(goldapi,swissquote)"
    # Every FX pair from two sources: Swissquote and Kraken's fiat pairs (one request).
    assert ticks["EURUSD"].source == "median(kraken,swissquote)"
    # Medians of Swissquote's 1.15610/1.15622 and Kraken's 1.15614/1.15619.
    assert (ticks["EURUSD"].bid, ticks["EURUSD"].ask) == (Decimal("1.15612"), Decimal("1.156205"))
    assert ticks["EURUSD"].mid == Decimal("1.1561625")
    assert {t.source for t in ticks.values()} == {"median(goldapi,swissquote)", "median(kraken,swissquote)",
                                                  "median(bitstamp,coinbase,kraken)"}
    # Bitcoin from three sources. Coinbase has no bid/ask (its price is both): medians of
    # 83894.035, Kraken's 84036.0/84036.1 and Bitstamp's 83965/83967.
    assert ticks["BTCUSD"].source == "median(bitstamp,coinbase,kraken)"
    assert (ticks["BTCUSD"].bid, ticks["BTCUSD"].ask) == (Decimal("83965"), Decimal("83967"))
    assert ticks["BTCUSD"].mid == Decimal("83966.00000000")
    assert ticks["BTCUSD"].timestamp == NOW and ticks["BTCUSD"].fetched_at == NOW
    # Swissquote's newest platform time, to the millisecond.
    assert ticks["EURUSD"].timestamp == NOW


def test_it_stores_a_cycles_ticks_with_one_insert(httpserver, cycle):
    serve_all(httpserver)

    with CaptureQueriesContext(connection) as queries:
        cycle()

    inserts = [x["sql"] for x in queries.captured_queries if x["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "markets_pricetick" in inserts[0]
    assert PriceTick.objects.count() == 6


def test_it_caches_the_latest_and_the_last_known_price(httpserver, cycle):
    serve_all(httpserver)

    cycle()

    latest, last = prices_read(symbols=["GBPUSD"])["GBPUSD"]
    assert latest == last
    assert (latest.bid, latest.ask, latest.source) == (Decimal("1.32013000"), Decimal("1.32027500"),
                                                       "median(kraken,swissquote)")


def test_it_broadcasts_once_per_cycle_with_the_api_items(httpserver, cycle, broadcasts):
    serve_all(httpserver)

    cycle()

    assert len(broadcasts) == 1
    group, message = broadcasts[0]
    assert group == "prices" and message["type"] == "price.update"
    items = {item["symbol"]: item for item in message["prices"]}
    assert list(items) == ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
    assert items["USDJPY"] == {"symbol": "USDJPY", "bid": 155.104, "ask": 155.1165, "price": 155.11025,
                               "timestamp": "2026-11-25T12:00:00.000Z", "source": "median(kraken,swissquote)",
                               "age_seconds": 0.0, "stale": False}


def test_it_does_not_broadcast_or_cache_before_the_transaction_commits(httpserver, market_settings, db, broadcasts):
    serve_all(httpserver)

    fetch_prices(now=NOW)  # inside the test's transaction, never committed

    assert broadcasts == []
    assert prices_read(symbols=["EURUSD"])["EURUSD"] == (None, None)


def test_it_keeps_pricing_the_others_when_one_provider_fails(httpserver, cycle):
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data("down", status=503)
    serve_all(httpserver)

    summary = cycle()

    assert summary == "6 prices: 6 fresh"
    assert PriceTick.objects.get(symbol="BTCUSD").source == "median(bitstamp,kraken)"


def test_it_reports_a_symbol_whose_only_source_failed_and_prices_the_rest(httpserver, cycle, settings):
    settings.MARKET_DATA_PROVIDERS = ["swissquote", "goldapi", "coinbase"]
    httpserver.expect_request(SQ_PATH.format("EUR", "USD")).respond_with_data("<html>oops</html>", status=500)
    serve_all(httpserver)

    summary = cycle()

    assert summary.startswith("6 prices: 5 fresh, 1 failed; failed: EURUSD (swissquote: HTTP 500)")
    assert not PriceTick.objects.filter(symbol="EURUSD").exists()


def test_it_prices_fx_from_kraken_alone_when_swissquote_fails(httpserver, cycle):
    httpserver.expect_request(SQ_PATH.format("EUR", "USD")).respond_with_data("<html>oops</html>", status=500)
    serve_all(httpserver)

    summary = cycle()

    assert summary == "6 prices: 6 fresh"
    tick = PriceTick.objects.get(symbol="EURUSD")
    assert (tick.source, tick.bid, tick.ask) == ("kraken", Decimal("1.15614"), Decimal("1.15619"))


def test_it_drops_a_stale_provider_time_and_uses_the_fresh_source(httpserver, cycle):
    old = NOW_MS - 45_000
    httpserver.expect_request(SQ_PATH.format("XAG", "USD")).respond_with_data(
        swissquote_at(SWISSQUOTE_XAG, ts_ms=old), content_type="application/json")
    serve_all(httpserver)

    cycle()

    assert PriceTick.objects.get(symbol="XAGUSD").source == "goldapi"


@pytest.mark.parametrize("amount", [b"0", b"-83894.035"])
def test_it_drops_a_zero_or_negative_price_and_uses_the_other_source(httpserver, cycle, amount):
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_json(
        {"data": {"amount": amount.decode(), "base": "BTC", "currency": "USD"}})
    serve_all(httpserver)

    cycle()

    assert PriceTick.objects.get(symbol="BTCUSD").source == "median(bitstamp,kraken)"


def test_it_drops_a_lone_jump_against_the_last_accepted_price(httpserver, cycle):
    serve_all(httpserver)
    cycle()
    httpserver.clear()
    # Five seconds later gold-api says +10 %, Swissquote has not moved.
    later = NOW + timedelta(seconds=5)
    serve_all(httpserver, ts_ms=NOW_MS + 5000, updated=later, xau_goldapi_price="4577.0")

    cycle(now=later)

    tick = PriceTick.objects.filter(symbol="XAUUSD").latest("timestamp")
    assert tick.source == "swissquote"
    assert tick.timestamp == later


def test_it_gives_no_gold_price_when_the_recorded_sources_disagree(httpserver, cycle):
    # The recorded bodies are from August (gold-api 4392) and October (Swissquote 4161).
    serve_all(httpserver, xau_goldapi_price="4392.0")

    summary = cycle()

    assert "failed: XAUUSD" in summary and "disagree" in summary
    assert not PriceTick.objects.filter(symbol="XAUUSD").exists()


def test_it_fails_the_run_when_no_open_market_got_a_price(httpserver, cycle):
    httpserver.expect_request("/").respond_with_data("nope", status=503)  # nothing else is served

    with pytest.raises(PricesUnavailable, match="6 prices: 6 failed"):
        cycle()


# --- market hours -------------------------------------------------------------------------------

SATURDAY = NOW + timedelta(days=3)


def test_it_reports_closed_markets_as_closed_at_the_weekend_and_prices_btc(httpserver, cycle):
    # Swissquote still answers at the weekend with Friday's quotes.
    serve_all(httpserver, ts_ms=NOW_MS + 2 * 86_400_000, updated=NOW + timedelta(days=2))

    summary = cycle(now=SATURDAY)

    assert summary == "6 prices: 1 fresh, 5 closed"
    assert list(PriceTick.objects.values_list("symbol", flat=True)) == ["BTCUSD"]


def test_it_polls_a_closed_market_only_rarely(httpserver, cycle):
    def serve(at):
        httpserver.clear()
        # Bitstamp, like every bitcoin exchange, trades at the weekend: its ticker is of now (and
        # a newer one each cycle: a tick no newer than the last is not stored).
        httpserver.expect_request(BITSTAMP_PATH).respond_with_data(bitstamp_at(updated=at))
        serve_all(httpserver, ts_ms=NOW_MS + 2 * 86_400_000, updated=NOW + timedelta(days=2))
    serve(SATURDAY)
    cycle(now=SATURDAY)
    serve(SATURDAY + timedelta(seconds=5))

    summary = cycle(now=SATURDAY + timedelta(seconds=5))

    asked = [request.path for request, _ in httpserver.log]
    assert sorted(asked) == ["/0/public/Ticker", BITSTAMP_PATH, "/v2/prices/BTC-USD/spot"]
    assert summary == "6 prices: 1 fresh, 5 closed"


def test_it_accepts_a_fresh_quote_during_closed_hours(httpserver, cycle):
    serve_all(httpserver, ts_ms=int(SATURDAY.timestamp() * 1000), updated=SATURDAY)

    summary = cycle(now=SATURDAY)

    assert summary == "6 prices: 6 fresh"


# --- the circuit breaker ------------------------------------------------------------------------

def test_it_stops_asking_a_provider_that_answered_429_until_its_retry_after(httpserver, cycle):
    httpserver.expect_request("/0/public/Ticker").respond_with_data("slow down", status=429,
                                                                    headers={"Retry-After": "30"})
    serve_all(httpserver)
    cycle()

    for seconds, expect_asked in ((5, False), (29, False), (31, True)):
        before = len(httpserver.log)
        cycle(now=NOW + timedelta(seconds=seconds))
        asked = [r.path for r, _ in httpserver.log[before:]]
        assert ("/0/public/Ticker" in asked) is expect_asked, seconds


def test_it_holds_off_the_whole_provider_when_one_of_its_requests_got_a_retry_after(httpserver, cycle, settings):
    settings.MARKET_DATA_PROVIDERS = ["swissquote", "goldapi", "coinbase"]  # EURUSD's one source: Swissquote
    httpserver.expect_request(SQ_PATH.format("EUR", "USD")).respond_with_data("slow down", status=429,
                                                                              headers={"Retry-After": "30"})
    serve_all(httpserver)
    cycle()
    before = len(httpserver.log)

    summary = cycle(now=NOW + timedelta(seconds=5))

    asked = [r.path for r, _ in httpserver.log[before:]]
    assert not any(path.startswith("/public-quotes/") for path in asked)
    assert "EURUSD (swissquote: circuit open until 12:00:30)" in summary


def test_it_opens_the_circuit_after_consecutive_failed_cycles(httpserver, cycle, settings):
    settings.MARKET_BREAKER_FAILURES = 2
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data("down", status=500)
    serve_all(httpserver)

    asked = []
    for step in range(4):
        before = len(httpserver.log)
        cycle(now=NOW + timedelta(seconds=5 * step))
        asked.append(sum(r.path == "/v2/prices/BTC-USD/spot" for r, _ in httpserver.log[before:]))

    # Two failed cycles (each one request and one retry), then the breaker holds it off.
    assert asked == [2, 2, 0, 0]


def test_it_lets_one_cycle_through_after_the_cooldown_and_closes_on_success(httpserver, cycle, settings):
    settings.MARKET_BREAKER_FAILURES = 1
    settings.MARKET_BREAKER_COOLDOWN_SECONDS = 60
    httpserver.expect_oneshot_request("/v2/prices/BTC-USD/spot").respond_with_data("down", status=500)
    httpserver.expect_oneshot_request("/v2/prices/BTC-USD/spot").respond_with_data("down", status=500)
    serve_all(httpserver)
    cycle()

    cycle(now=NOW + timedelta(seconds=61))

    assert PriceTick.objects.filter(symbol="BTCUSD").latest("timestamp").source == "median(coinbase,kraken)"


# --- retention ------------------------------------------------------------------------------------

def test_it_prunes_ticks_beyond_the_retention_horizon(db, settings):
    settings.PRICE_HISTORY_RETENTION_DAYS = 30
    horizon = NOW - timedelta(days=30)
    for symbol in ("XAUUSD", "BTCUSD"):
        for offset in (-2, -1, 1):
            PriceTick.objects.create(symbol=symbol, bid=1, ask=1, mid=1, source="a", fetched_at=NOW,
                                     timestamp=horizon + timedelta(seconds=offset))

    deleted = price_ticks_prune(now=NOW)

    assert deleted == 4
    assert PriceTick.objects.count() == 2
    assert all(t.timestamp > horizon for t in PriceTick.objects.all())


def test_it_prunes_a_backlog_in_bounded_batches(db, settings):
    settings.PRICE_HISTORY_RETENTION_DAYS = 1
    PriceTick.objects.bulk_create([
        PriceTick(symbol="EURUSD", bid=1, ask=1, mid=1, source="a", fetched_at=NOW,
                  timestamp=NOW - timedelta(days=2, seconds=i)) for i in range(5)])

    assert price_ticks_prune(now=NOW, batch=3) == 3
    assert price_ticks_prune(now=NOW, batch=3) == 2
    assert PriceTick.objects.count() == 0
