import random
from datetime import timedelta

from django.core.cache import cache

from markets.models import PriceTick
from markets.providers.simulated import LEVELS, SimulatedClient
from markets.tasks import fetch_prices
from markets.trust import tick_is_trustworthy
from tests.markets.factories import NOW


def test_it_walks_from_realistic_levels_with_a_spread():
    client = SimulatedClient(store=cache, rng=random.Random(7))

    for symbol, (level, *_rest) in LEVELS.items():
        quote = client.fetch(symbol, now=NOW)
        assert abs(float(quote.mid) / level - 1) < 0.01
        assert quote.bid < quote.ask
        assert (quote.source, quote.timestamp) == ("simulated", NOW)


def test_it_continues_one_walk_across_clients_as_worker_processes_do():
    first = SimulatedClient(store=cache, rng=random.Random(1))
    prices = [first.fetch("XAUUSD", now=NOW).mid]
    # Another worker process: a new client, the same shared store.
    second = SimulatedClient(store=cache, rng=random.Random(2))
    prices.append(second.fetch("XAUUSD", now=NOW).mid)
    fresh_store_client = SimulatedClient(store=_DictStore(), rng=random.Random(2))

    # From where the first left off, not from the level again.
    assert prices[1] != fresh_store_client.fetch("XAUUSD", now=NOW).mid


def test_it_stays_near_its_level_over_a_long_demo():
    client = SimulatedClient(store=_DictStore(), rng=random.Random(3))

    mids = [float(client.fetch("BTCUSD", now=NOW).mid) for _ in range(20_000)]  # ~28 hours

    assert min(mids) / 84000 > 0.8 and max(mids) / 84000 < 1.2


def test_it_feeds_a_demo_cycle_labelled_simulated_at_the_weekend_too(settings, db, django_capture_on_commit_callbacks):
    settings.MARKET_DATA_PROVIDERS = ["simulated"]
    settings.MARKET_SYMBOLS = list(LEVELS)
    saturday = NOW + timedelta(days=3)

    with django_capture_on_commit_callbacks(execute=True):
        summary = fetch_prices(now=saturday)

    assert summary == "6 prices: 6 fresh"
    assert set(PriceTick.objects.values_list("source", flat=True)) == {"simulated"}
    settings.DEMO_MODE = False
    assert not any(tick_is_trustworthy(t) for t in PriceTick.objects.all())


class _DictStore(dict):
    def set(self, key, value, timeout=None):
        self[key] = value
