"""Fixtures of the markets tests: provider clients on loopback HTTP, settings pointing at it."""

import pytest

from markets.providers.bitstamp import BitstampClient
from markets.providers.coinbase import CoinbaseClient
from markets.providers.goldapi import GoldApiClient
from markets.providers.kraken import KrakenClient
from markets.providers.swissquote import SwissquoteClient
from tests.markets.factories import HTTP, providers_point_at


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
def bitstamp(base_url):
    return BitstampClient(base_url=base_url, http=HTTP)


@pytest.fixture
def market_settings(settings, base_url):
    """Every provider pointed at the local server, fast timeouts."""
    providers_point_at(settings, base_url)
    return settings
