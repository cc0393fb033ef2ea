"""Job entry point (registered in jobs.registry as the `price_fetcher` job)."""

from django.conf import settings

from markets.providers import providers_from_settings
from markets.services import prices_cycle
from markets.signals import prices_stored


def fetch_prices(*, now) -> str:
    cycle = prices_cycle(now=now, providers=providers_from_settings(), symbols=settings.MARKET_SYMBOLS)
    prices_stored.send(sender=fetch_prices, now=now, prices=cycle.prices)
    return cycle.summary()
