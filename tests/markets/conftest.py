"""Shared pieces of the markets tests: recorded bodies, provider clients on loopback HTTP."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from markets.providers import HttpConfig
from markets.providers.coinbase import CoinbaseClient
from markets.providers.goldapi import GoldApiClient
from markets.providers.kraken import KrakenClient
from markets.providers.swissquote import SwissquoteClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prices"
# A Wednesday: metals and FX open.
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
# Short timeouts keep fault tests quick; one retry, as in production.
# Timeouts with room for a busy machine: no test waits for one to run out except on purpose.
HTTP = HttpConfig(connect_timeout=1.0, read_timeout=2.0, retries=1, pool_size=8)

SWISSQUOTE_XAU = "swissquote_bboquotes_XAU-USD_fixture-2026-10-06.json"
SWISSQUOTE_XAG = "swissquote_bboquotes_XAG-USD_2024-10-10.json"
SWISSQUOTE_XAU_TRUNCATED = "swissquote_bboquotes_XAU-USD_live-2026-08-18_TRUNCATED.txt"
GOLDAPI_XAU = "gold-api_price-XAU_live-2026-08-18.json"
COINBASE = "live-2026-09-25_coinbase_v2-prices-BTC-USD-spot.json"
KRAKEN = "live-2026-09-25_kraken_0-public-Ticker_XBTUSD.json"
BINANCE_451 = "binance_api.binance.com_HTTP451_geoblock-body.json"
STOOQ_CHALLENGE = "stooq_q-d-l_xauusd_live-2026-08-18_HTTP200-JS-challenge_TRUNCATED.html"
BYBIT_403 = "live-2026-09-25_bybit_HTTP403_cloudfront-geoblock.txt"

SQ_PATH = "/public-quotes/bboquotes/instrument/{}/{}"


def recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def swissquote_at(name: str, *, ts_ms: int) -> bytes:
    """A recorded Swissquote body with its platforms' `ts` moved to `ts_ms` (offsets kept)."""
    body = json.loads(recorded(name))
    newest = max(platform["ts"] for platform in body)
    for platform in body:
        platform["ts"] = ts_ms - (newest - platform["ts"])
    return json.dumps(body).encode()


def swissquote_shaped(*, bid: str, ask: str, ts_ms: int) -> bytes:
    """The recorded XAU body's shape with other prices: no FX body was recorded."""
    text = swissquote_at(SWISSQUOTE_XAU, ts_ms=ts_ms).decode()
    text = re.sub(r'"bid": [0-9.]+', f'"bid": {bid}', text)
    text = re.sub(r'"ask": [0-9.]+', f'"ask": {ask}', text)
    return text.encode()


def goldapi_at(*, updated: datetime, price: str | None = None, symbol: str = "XAU") -> bytes:
    body = json.loads(recorded(GOLDAPI_XAU))
    body["updatedAt"] = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    body["symbol"] = symbol
    text = json.dumps(body)
    if price is not None:
        text = text.replace('"price": 4392.0', f'"price": {price}')
    return text.encode()


@pytest.fixture(autouse=True)
def _redis(redis_url):
    """The cache (latest prices, breaker state, throttles) lives in Redis, flushed per test."""


@pytest.fixture
def base_url(httpserver):
    return httpserver.url_for("").rstrip("/")


@pytest.fixture
def swissquote(base_url):
    return SwissquoteClient(base_url=base_url, http=HTTP)


@pytest.fixture
def goldapi(base_url):
    return GoldApiClient(base_url=base_url, http=HTTP)


@pytest.fixture
def coinbase(base_url):
    return CoinbaseClient(base_url=base_url, http=HTTP)


@pytest.fixture
def kraken(base_url):
    return KrakenClient(base_url=base_url, http=HTTP)


@pytest.fixture
def market_settings(settings, base_url):
    """Every provider pointed at the local server, fast timeouts."""
    settings.SWISSQUOTE_BASE_URL = settings.COINBASE_BASE_URL = base_url
    settings.KRAKEN_BASE_URL = settings.GOLDAPI_BASE_URL = base_url
    settings.MARKET_DATA_PROVIDERS = ["swissquote", "goldapi", "coinbase", "kraken"]
    settings.MARKET_SYMBOLS = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
    settings.MARKET_HTTP_CONNECT_TIMEOUT = HTTP.connect_timeout
    settings.MARKET_HTTP_READ_TIMEOUT = HTTP.read_timeout
    settings.MARKET_HTTP_RETRIES = HTTP.retries
    settings.MARKET_HTTP_WORKERS = HTTP.pool_size
    return settings


def serve_all(httpserver, *, ts_ms: int = NOW_MS, updated: datetime = NOW,
              xau_goldapi_price: str = "4161.0", xag_goldapi_price: str = "31.04") -> None:
    """Every provider answering for all six symbols with fresh, agreeing recorded bodies."""
    sq = {
        ("XAU", "USD"): swissquote_at(SWISSQUOTE_XAU, ts_ms=ts_ms),
        ("XAG", "USD"): swissquote_at(SWISSQUOTE_XAG, ts_ms=ts_ms),
        ("EUR", "USD"): swissquote_shaped(bid="1.15610", ask="1.15622", ts_ms=ts_ms),
        ("GBP", "USD"): swissquote_shaped(bid="1.32010", ask="1.32030", ts_ms=ts_ms),
        ("USD", "JPY"): swissquote_shaped(bid="155.102", ask="155.118", ts_ms=ts_ms),
    }
    for (base, quote), body in sq.items():
        httpserver.expect_request(SQ_PATH.format(base, quote)).respond_with_data(
            body, content_type="application/json")
    httpserver.expect_request("/price/XAU").respond_with_data(
        goldapi_at(updated=updated, price=xau_goldapi_price), content_type="application/json")
    httpserver.expect_request("/price/XAG").respond_with_data(
        goldapi_at(updated=updated, price=xag_goldapi_price, symbol="XAG"), content_type="application/json")
    httpserver.expect_request("/v2/prices/BTC-USD/spot").respond_with_data(
        recorded(COINBASE), content_type="application/json")
    httpserver.expect_request("/0/public/Ticker", query_string="pair=XBTUSD").respond_with_data(
        recorded(KRAKEN), content_type="application/json")
