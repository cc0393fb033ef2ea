"""Fixtures of the markets tests: provider clients on loopback HTTP, settings pointing at it."""

import pytest

from markets.providers.coinbase import CoinbaseClient
from markets.providers.goldapi import GoldApiClient
from markets.providers.kraken import KrakenClient
from markets.providers.swissquote import SwissquoteClient
from tests.markets.factories import HTTP


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
