"""Provider clients over loopback HTTP: recorded bodies, then every fault."""

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from werkzeug import Response

from markets.providers import ProviderError
from markets.providers.swissquote import SwissquoteClient
from markets.trust import quote_problem
from tests.markets.factories import HTTP, NOW, NOW_MS
from tests.markets.recorded import (
    BINANCE_451,
    BITSTAMP,
    BITSTAMP_PATH,
    BYBIT_403,
    COINBASE,
    GOLDAPI_XAU,
    KRAKEN,
    KRAKEN_ALL_PAIRS,
    KRAKEN_MULTI,
    SQ_PATH,
    STOOQ_CHALLENGE,
    SWISSQUOTE_XAG,
    SWISSQUOTE_XAU,
    SWISSQUOTE_XAU_TRUNCATED,
    bitstamp_at,
    recorded,
)

XAU = SQ_PATH.format("XAU", "USD")


def test_it_reads_the_recorded_swissquote_gold_body(httpserver, swissquote):
    httpserver.expect_request(XAU).respond_with_data(recorded(SWISSQUOTE_XAU), content_type="application/json")

    quote = swissquote.fetch("XAUUSD", now=NOW)

    # The newest platform (ts ...743), its "prime" profile (lower case in this body).
    assert (quote.bid, quote.ask) == (Decimal("4160.706"), Decimal("4161.344"))
    assert quote.mid == Decimal("4161.025")
    assert quote.timestamp.isoformat() == "2026-10-06T16:28:08.743000+00:00"
    assert (quote.symbol, quote.source) == ("XAUUSD", "swissquote")


def test_it_reads_the_recorded_swissquote_silver_body_with_capitalised_profiles(httpserver, swissquote):
    httpserver.expect_request(SQ_PATH.format("XAG", "USD")).respond_with_data(
        recorded(SWISSQUOTE_XAG), content_type="application/json")

    quote = swissquote.fetch("XAGUSD", now=NOW)

    # Newest platform is Live5 (ts ...137): Prime preferred over Elite and Premium.
    assert (quote.bid, quote.ask) == (Decimal("31.0275"), Decimal("31.0485"))
    assert quote.timestamp.isoformat() == "2024-10-10T16:51:08.137000+00:00"


def test_it_asks_swissquote_for_each_fx_pair_by_its_path(httpserver, swissquote):
    httpserver.expect_request(SQ_PATH.format("USD", "JPY")).respond_with_data(
        recorded(SWISSQUOTE_XAU), content_type="application/json")

    assert swissquote.fetch("USDJPY", now=NOW).symbol == "USDJPY"


def test_it_reads_the_recorded_gold_api_body(httpserver, goldapi):
    httpserver.expect_request("/price/XAU").respond_with_data(recorded(GOLDAPI_XAU), content_type="application/json")

    quote = goldapi.fetch("XAUUSD", now=NOW)

    assert quote.bid == quote.ask == quote.mid == Decimal("4392.0")
    assert quote.timestamp.isoformat() == "2026-08-18T13:29:35+00:00"
    assert quote.source == "goldapi"


def test_it_refuses_a_gold_api_answer_for_another_metal(httpserver, goldapi):
    httpserver.expect_request("/price/XAG").respond_with_data(recorded(GOLDAPI_XAU), content_type="application/json")

    with pytest.raises(ProviderError, match="answered XAU") as caught:
        goldapi.fetch("XAGUSD", now=NOW)
    assert caught.value.permanent


def test_it_reads_the_recorded_coinbase_body_stamped_with_the_fetch_time(httpserver, coinbase):
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data(
        recorded(COINBASE), content_type="application/json")

    quote = coinbase.fetch("BTCUSD", now=NOW)

    assert quote.mid == Decimal("83894.035")
    assert quote.timestamp == NOW


def test_it_reads_the_recorded_kraken_body(httpserver, kraken):
    httpserver.expect_request("/0/public/Ticker", query_string="pair=XXBTZUSD").respond_with_data(
        recorded(KRAKEN), content_type="application/json")

    quote = kraken.fetch("BTCUSD", now=NOW)

    assert (quote.bid, quote.ask) == (Decimal("84036.00000"), Decimal("84036.10000"))
    assert quote.source == "kraken"


def test_it_asks_kraken_for_bitcoin_and_the_fiat_pairs_in_one_request(httpserver, kraken):
    httpserver.expect_request("/0/public/Ticker", query_string=KRAKEN_ALL_PAIRS).respond_with_data(
        recorded(KRAKEN_MULTI), content_type="application/json")

    quotes = kraken.fetch_many(["EURUSD", "GBPUSD", "USDJPY", "BTCUSD"], now=NOW)

    assert len(httpserver.log) == 1
    assert {s: (q.bid, q.ask, q.source, q.timestamp) for s, q in quotes.items()} == {
        "EURUSD": (Decimal("1.15614"), Decimal("1.15619"), "kraken", NOW),
        "GBPUSD": (Decimal("1.32016"), Decimal("1.32025"), "kraken", NOW),
        "USDJPY": (Decimal("155.106"), Decimal("155.115"), "kraken", NOW),
        "BTCUSD": (Decimal("84036.00000"), Decimal("84036.10000"), "kraken", NOW),
    }


def test_it_takes_kraken_results_keyed_by_the_pairs_short_names(httpserver, kraken):
    body = json.loads(recorded(KRAKEN_MULTI))
    body["result"] = {"XBTUSD": body["result"]["XXBTZUSD"], "EURUSD": body["result"]["ZEURZUSD"]}
    httpserver.expect_request("/0/public/Ticker").respond_with_json(body)

    quotes = kraken.fetch_many(["EURUSD", "BTCUSD"], now=NOW)

    assert (quotes["EURUSD"].mid, quotes["BTCUSD"].mid) == (Decimal("1.156165"), Decimal("84036.05"))


def test_it_fails_only_the_pair_missing_from_or_broken_in_krakens_answer(httpserver, kraken):
    body = json.loads(recorded(KRAKEN_MULTI))
    del body["result"]["ZGBPZUSD"]
    body["result"]["ZUSDZJPY"] = {"c": ["155.110", "1"]}
    httpserver.expect_request("/0/public/Ticker").respond_with_json(body)

    quotes = kraken.fetch_many(["EURUSD", "GBPUSD", "USDJPY", "BTCUSD"], now=NOW)

    assert quotes["EURUSD"].mid == Decimal("1.156165") and quotes["BTCUSD"].source == "kraken"
    assert isinstance(quotes["GBPUSD"], ProviderError) and "ZGBPZUSD missing" in str(quotes["GBPUSD"])
    assert isinstance(quotes["USDJPY"], ProviderError) and "a[0] (ask)" in str(quotes["USDJPY"])
    assert quotes["GBPUSD"].permanent and quotes["USDJPY"].permanent


def test_it_fails_every_pair_when_kraken_refuses_the_request(httpserver, kraken):
    # One unknown pair makes Kraken refuse the whole request, inside HTTP 200.
    httpserver.expect_request("/0/public/Ticker").respond_with_json({"error": ["EQuery:Unknown asset pair"]})

    with pytest.raises(ProviderError, match="Unknown asset pair") as caught:
        kraken.fetch_many(["EURUSD", "BTCUSD"], now=NOW)
    assert caught.value.permanent


@pytest.mark.parametrize(("errors", "permanent"), [
    (["EQuery:Unknown asset pair"], True),
    (["EService:Unavailable"], False),
    (["EAPI:Rate limit exceeded"], False),
])
def test_it_raises_kraken_errors_sent_inside_http_200(httpserver, kraken, errors, permanent):
    httpserver.expect_request("/0/public/Ticker").respond_with_json({"error": errors})

    with pytest.raises(ProviderError, match=errors[0]) as caught:
        kraken.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent is permanent


# --- Bitstamp ------------------------------------------------------------------------------
# The body is written from Bitstamp's documented ticker format (tests/fixtures/prices/PROVENANCE.md).
BITSTAMP_TIME = datetime(2026, 9, 25, 12, 0, 0, tzinfo=UTC)  # the body's "timestamp": "1790337600"


def serve_bitstamp(httpserver, body, **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    httpserver.expect_request(BITSTAMP_PATH).respond_with_data(data, content_type="application/json", **kwargs)


def bitstamp_body(**changes):
    """The documented ticker stamped NOW, with some keys changed (None: removed)."""
    body = json.loads(bitstamp_at(updated=NOW))
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def test_it_reads_the_documented_bitstamp_ticker_with_bitstamps_own_time(httpserver, bitstamp):
    serve_bitstamp(httpserver, recorded(BITSTAMP))

    quote = bitstamp.fetch("BTCUSD", now=BITSTAMP_TIME + timedelta(seconds=2))

    # Its best bid and ask (not "last", a trade's price), and the ticker's time, not ours.
    assert (quote.bid, quote.ask, quote.mid) == (Decimal("83965"), Decimal("83967"), Decimal("83966"))
    assert quote.timestamp == BITSTAMP_TIME
    assert (quote.symbol, quote.source) == ("BTCUSD", "bitstamp")
    assert [request.path for request, _ in httpserver.log] == ["/api/v2/ticker/btcusd/"]


def test_it_raises_the_error_bitstamp_sends_inside_http_200_with_its_reason_and_code(httpserver, bitstamp):
    # The error shape of Bitstamp's documentation; the reason and code here are examples.
    serve_bitstamp(httpserver, {"status": "error", "reason": "Invalid currency pair", "code": "API-EXAMPLE"})

    with pytest.raises(ProviderError, match="bitstamp: error API-EXAMPLE: Invalid currency pair") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent


def test_it_names_each_message_of_a_bitstamp_error_whose_reason_is_per_field(httpserver, bitstamp):
    serve_bitstamp(httpserver, {"status": "error", "reason": {"__all__": ["Invalid pair.", "Try btcusd."]}})

    with pytest.raises(ProviderError, match=r"bitstamp: error: __all__: Invalid pair\., Try btcusd\.$"):
        bitstamp.fetch("BTCUSD", now=NOW)


def test_it_reports_bitstamps_error_body_under_an_http_404_as_permanent(httpserver, bitstamp):
    serve_bitstamp(httpserver, {"status": "error", "reason": "Not found", "code": "API-EXAMPLE"}, status=404)

    with pytest.raises(ProviderError, match='HTTP 404: .*"reason": "Not found"') as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent
    assert len(httpserver.log) == 1


def test_it_retries_a_bitstamp_5xx_once_then_reports_it_as_transient(httpserver, bitstamp):
    serve_bitstamp(httpserver, b"<html>502 Bad Gateway</html>", status=502)

    with pytest.raises(ProviderError, match="HTTP 502") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert not caught.value.permanent
    assert len(httpserver.log) == 1 + HTTP.retries


def test_it_hands_bitstamps_429_retry_after_to_the_breaker_without_retrying(httpserver, bitstamp):
    serve_bitstamp(httpserver, b"Too many requests", status=429, headers={"Retry-After": "10"})

    with pytest.raises(ProviderError, match="HTTP 429 rate limited, Retry-After 10 s") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.retry_after == 10.0 and not caught.value.permanent
    assert len(httpserver.log) == 1


def test_it_reports_a_cut_off_bitstamp_body_as_transient_invalid_json(httpserver, bitstamp):
    serve_bitstamp(httpserver, json.dumps(bitstamp_body()).encode()[:60])

    with pytest.raises(ProviderError, match="invalid JSON") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert not caught.value.permanent


@pytest.mark.parametrize(("changes", "message"), [
    ({"bid": None}, "missing bid"),
    ({"ask": None, "timestamp": None}, "missing ask, timestamp"),
    ({"bid": "n/a"}, "bid is not a number: 'n/a'"),
    ({"ask": True}, "ask is not a number: True"),
    ({"timestamp": "yesterday"}, "timestamp is not Unix seconds: 'yesterday'"),
    ({"timestamp": None, "datetime": "2026-11-25T12:00:00Z"}, "missing timestamp"),
    # Milliseconds where seconds belong: a year past what a datetime holds.
    ({"timestamp": str(NOW_MS)}, "not Unix seconds"),
])
def test_it_refuses_a_bitstamp_ticker_with_missing_or_garbage_fields_as_permanent(
        httpserver, bitstamp, changes, message):
    serve_bitstamp(httpserver, bitstamp_body(**changes))

    with pytest.raises(ProviderError, match=message) as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent


@pytest.mark.parametrize("body", [["bid", "ask"], "ok", 83966])
def test_it_refuses_a_bitstamp_answer_that_is_not_a_ticker_object(httpserver, bitstamp, body):
    serve_bitstamp(httpserver, body)

    with pytest.raises(ProviderError, match="expected a JSON object") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent


def test_it_refuses_a_crossed_bitstamp_ticker_as_transient(httpserver, bitstamp):
    serve_bitstamp(httpserver, bitstamp_body(bid="83968", ask="83967"))

    with pytest.raises(ProviderError, match=r"crossed ticker \(bid 83968 > ask 83967\)") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert not caught.value.permanent


@pytest.mark.parametrize("stamped", [NOW - timedelta(days=2), NOW + timedelta(hours=25),
                                     datetime(1970, 1, 1, tzinfo=UTC)])
def test_it_refuses_a_bitstamp_timestamp_more_than_a_day_from_now(httpserver, bitstamp, stamped):
    serve_bitstamp(httpserver, bitstamp_body(timestamp=str(int(stamped.timestamp()))))

    with pytest.raises(ProviderError, match="is more than a day from now") as caught:
        bitstamp.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent


def test_it_leaves_a_bitstamp_ticker_minutes_old_to_the_trust_rules_to_call_stale(httpserver, bitstamp):
    # Late, not garbage: the trust rules refuse it, and the tick's provenance says why.
    serve_bitstamp(httpserver, bitstamp_body(timestamp=str(int((NOW - timedelta(minutes=5)).timestamp()))))

    quote = bitstamp.fetch("BTCUSD", now=NOW)

    assert quote.timestamp == NOW - timedelta(minutes=5)
    problem = quote_problem(quote=quote, now=NOW, max_age=timedelta(seconds=30))
    assert problem is not None and problem.startswith("stale (quote 300 s old")


# --- faults --------------------------------------------------------------------------------

def test_it_gives_up_on_a_read_timeout_without_retrying(httpserver, coinbase):
    released = threading.Event()

    def slow(request):
        released.wait(timeout=5)  # far beyond the client's read timeout
        return Response(recorded(COINBASE), content_type="application/json")

    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_handler(slow)

    with pytest.raises(ProviderError, match="read timeout") as caught:
        coinbase.fetch("BTCUSD", now=NOW)
    released.set()
    assert not caught.value.permanent
    # The single-threaded server answers the one request it got, then would take a retry.
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    # A read timeout already spent the cycle's budget: one request, no retry.
    assert len(httpserver.log) == 1


def test_it_reports_connection_refused_as_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    client = SwissquoteClient(base_url=f"http://127.0.0.1:{port}", http=HTTP)

    with pytest.raises(ProviderError, match="connection refused") as caught:
        client.fetch("XAUUSD", now=NOW)
    assert not caught.value.permanent


def test_it_retries_a_5xx_once_and_uses_the_answer_that_follows(httpserver, swissquote):
    httpserver.expect_oneshot_request(XAU).respond_with_data("upstream down", status=503)
    httpserver.expect_request(XAU).respond_with_data(recorded(SWISSQUOTE_XAU), content_type="application/json")

    quote = swissquote.fetch("XAUUSD", now=NOW)

    assert quote.bid == Decimal("4160.706")
    assert [response.status_code for _, response in httpserver.log] == [503, 200]


def test_it_raises_a_transient_error_when_5xx_outlasts_the_retries(httpserver, swissquote):
    httpserver.expect_request(XAU).respond_with_data("bad gateway", status=502)

    with pytest.raises(ProviderError, match="HTTP 502") as caught:
        swissquote.fetch("XAUUSD", now=NOW)
    assert not caught.value.permanent
    assert len(httpserver.log) == 1 + HTTP.retries


@pytest.mark.parametrize(("header", "expected"), [
    ("17", 17.0),
    ("Wed, 25 Nov 2026 12:01:00 GMT", 60.0),
    ("soon", None),
    (None, None),
])
def test_it_hands_a_429s_retry_after_to_the_caller_without_sleeping_or_retrying(
        httpserver, coinbase, header, expected):
    headers = {"Retry-After": header} if header else {}
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data("slow down", status=429,
                                                                          headers=headers)

    with pytest.raises(ProviderError, match="HTTP 429") as caught:
        coinbase.fetch("BTCUSD", now=NOW)
    assert caught.value.retry_after == expected
    assert not caught.value.permanent
    assert len(httpserver.log) == 1


def test_it_reports_a_451_geo_block_as_permanent_with_its_message(httpserver, coinbase):
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data(
        recorded(BINANCE_451), status=451, content_type="application/json")

    with pytest.raises(ProviderError, match="HTTP 451: .*restricted location") as caught:
        coinbase.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent
    assert len(httpserver.log) == 1


def test_it_reports_a_cloudfront_403_geo_block_as_permanent(httpserver, kraken):
    httpserver.expect_request("/0/public/Ticker").respond_with_data(recorded(BYBIT_403), status=403)

    with pytest.raises(ProviderError, match="HTTP 403: .*block access") as caught:
        kraken.fetch("BTCUSD", now=NOW)
    assert caught.value.permanent


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_it_refuses_an_html_challenge_page_served_with_http_200(httpserver, goldapi, content_type):
    httpserver.expect_request("/price/XAU").respond_with_data(recorded(STOOQ_CHALLENGE), content_type=content_type)

    with pytest.raises(ProviderError, match="HTML page instead of JSON") as caught:
        goldapi.fetch("XAUUSD", now=NOW)
    assert caught.value.permanent


def test_it_reports_the_recorded_truncated_body_as_invalid_json(httpserver, swissquote):
    httpserver.expect_request(XAU).respond_with_data(recorded(SWISSQUOTE_XAU_TRUNCATED),
                                                     content_type="application/json")

    with pytest.raises(ProviderError, match="invalid JSON") as caught:
        swissquote.fetch("XAUUSD", now=NOW)
    assert not caught.value.permanent


def test_it_refuses_a_body_larger_than_any_quote(httpserver, swissquote):
    httpserver.expect_request(XAU).respond_with_data(b"[" + b" " * 300_000 + b"]", content_type="application/json")

    with pytest.raises(ProviderError, match="larger than"):
        swissquote.fetch("XAUUSD", now=NOW)


@pytest.mark.parametrize(("client", "path", "body"), [
    ("swissquote", XAU, [{"topo": {}, "prices": [{"bid": 1, "ask": 2}], "ts": 1}]),
    ("swissquote", XAU, {"bid": 1, "ask": 2}),
    ("swissquote", XAU, []),
    ("swissquote", XAU, [{"spreadProfilePrices": [{"spreadProfile": "prime", "bid": 1, "ask": 2}],
                          "ts": "yesterday"}]),
    ("swissquote", XAU, [{"spreadProfilePrices": [{"spreadProfile": "prime", "bid": "n/a", "ask": 2}],
                          "ts": 1}]),
    ("goldapi", "/price/XAU", {"symbol": "XAU", "value": 4392.0}),
    ("goldapi", "/price/XAU", {"symbol": "XAU", "price": 4392.0, "updatedAt": "last tuesday"}),
    ("goldapi", "/price/XAU", {"symbol": "XAU", "price": None, "updatedAt": "2026-11-25T12:00:00Z"}),
    ("coinbase", "/v2/prices/BTC-USD/spot", {"data": {"price": "1"}}),
    ("coinbase", "/v2/prices/BTC-USD/spot", {"data": {"amount": "1", "base": "ETH", "currency": "USD"}}),
    ("coinbase", "/v2/prices/BTC-USD/spot", ["data"]),
    ("kraken", "/0/public/Ticker", {"error": [], "result": {"XXBTZUSD": {"last": "1"}}}),
    ("kraken", "/0/public/Ticker", {"error": [], "result": {}}),
    ("kraken", "/0/public/Ticker", "ok"),
])
def test_it_refuses_bodies_with_wrong_keys_as_permanent(request, httpserver, client, path, body):
    httpserver.expect_request(path).respond_with_data(json.dumps(body), content_type="application/json")

    with pytest.raises(ProviderError) as caught:
        request.getfixturevalue(client).fetch({"swissquote": "XAUUSD", "goldapi": "XAUUSD"}.get(client, "BTCUSD"),
                                              now=NOW)
    assert caught.value.permanent


@pytest.mark.parametrize("amount", ["0", "-5", "NaN"])
def test_it_passes_bad_numbers_on_for_the_trust_rules_to_refuse(httpserver, coinbase, amount):
    # The client reports what the provider said; refusing it is markets.trust's job, so that
    # one set of rules applies to every provider.
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data(
        recorded(COINBASE).replace(b"83894.035", amount.encode()), content_type="application/json")

    quote = coinbase.fetch("BTCUSD", now=NOW)

    assert str(quote.mid) == str(Decimal(amount)) or (amount == "NaN" and quote.mid.is_nan())
    problem = quote_problem(quote=quote, now=NOW, max_age=timedelta(seconds=30))
    assert problem is not None and ("not a number" if amount == "NaN" else "non-positive") in problem


def test_it_stamps_gold_api_quotes_with_the_providers_time_not_ours(httpserver, goldapi):
    httpserver.expect_request("/price/XAU").respond_with_data(recorded(GOLDAPI_XAU), content_type="application/json")

    quote = goldapi.fetch("XAUUSD", now=NOW)

    assert NOW - quote.timestamp > timedelta(days=90)
