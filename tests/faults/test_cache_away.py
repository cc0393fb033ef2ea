"""The price cycle with Redis away, in-process (the outage test runs it in real processes)."""

import time
from datetime import UTC, datetime

import pytest

from markets.models import PriceTick
from markets.tasks import fetch_prices
from tests.markets.factories import BASE_URL_SETTINGS, PROVIDERS
from tests.processes import free_port

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def redis_away(settings, quote_server):
    for name in BASE_URL_SETTINGS:
        setattr(settings, name, quote_server.url)
    settings.MARKET_DATA_PROVIDERS = list(PROVIDERS)
    settings.MARKET_SYMBOLS = settings.SYMBOLS_ALL
    # Nothing listens there: every cache call is refused, as with a stopped redis-server.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}


def test_it_stores_and_broadcasts_every_price_while_redis_is_away(
        redis_away, broadcasts, caplog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary = fetch_prices(now=datetime.now(UTC))

    # Closed markets are polled every cycle when their throttle (in Redis) cannot be asked.
    assert summary.startswith("6 prices: 6 fresh"), summary
    assert PriceTick.objects.count() == 6
    assert [group for group, _message in broadcasts] == ["prices"]
    assert "latest prices not cached" in caplog.text


def test_it_takes_the_reference_price_from_history_while_redis_is_away(redis_away):
    fetch_prices(now=datetime.now(UTC))
    # gold-api and Bitstamp stamp whole seconds, and a tick no newer than the last is not stored:
    # the second cycle's quotes must be of a later second.
    time.sleep(1.1)

    fetch_prices(now=datetime.now(UTC))

    assert PriceTick.objects.filter(symbol="XAUUSD").count() == 2
