"""Quote provider clients: one module per provider, all returning `Price` (markets.price), raising `ProviderError`."""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from markets.providers.base import HttpConfig, Provider, ProviderError
from markets.providers.bitstamp import BitstampClient
from markets.providers.coinbase import CoinbaseClient
from markets.providers.goldapi import GoldApiClient
from markets.providers.kraken import KrakenClient
from markets.providers.simulated import SimulatedClient
from markets.providers.swissquote import SwissquoteClient

__all__ = ["HttpConfig", "Provider", "ProviderError", "providers_from_settings"]


def http_config_from_settings() -> HttpConfig:
    return HttpConfig(connect_timeout=settings.MARKET_HTTP_CONNECT_TIMEOUT,
                      read_timeout=settings.MARKET_HTTP_READ_TIMEOUT,
                      retries=settings.MARKET_HTTP_RETRIES,
                      pool_size=settings.MARKET_HTTP_WORKERS)


def providers_from_settings() -> list[Provider]:
    """The clients named in MARKET_DATA_PROVIDERS, in that order."""
    http = http_config_from_settings()
    factories: dict[str, Callable[[], Provider]] = {
        "swissquote": lambda: SwissquoteClient(base_url=settings.SWISSQUOTE_BASE_URL, http=http),
        "goldapi": lambda: GoldApiClient(base_url=settings.GOLDAPI_BASE_URL, http=http),
        "coinbase": lambda: CoinbaseClient(base_url=settings.COINBASE_BASE_URL, http=http),
        "kraken": lambda: KrakenClient(base_url=settings.KRAKEN_BASE_URL, http=http),
        "bitstamp": lambda: BitstampClient(base_url=settings.BITSTAMP_BASE_URL, http=http),
        "simulated": lambda: SimulatedClient(store=cache),
    }
    return [factories[name]() for name in settings.MARKET_DATA_PROVIDERS]
