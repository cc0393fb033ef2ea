"""Job entry point (registered in jobs.registry as the `price_fetcher` job)."""

from django.conf import settings

from markets.providers import providers_from_settings
from markets.services import prices_cycle


def fetch_prices(*, now) -> str:
    cycle = prices_cycle(now=now, providers=providers_from_settings(), symbols=settings.MARKET_SYMBOLS)
    return cycle.summary()
