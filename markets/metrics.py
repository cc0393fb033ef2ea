from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from goldsocial.health import metrics_collector
from markets.cache import disagreements_read, seen_read
from markets.hours import market_is_open
from markets.selectors import prices_latest
from markets.trust import frozen_sources


@metrics_collector
def price_metrics():
    now = timezone.now()
    age = GaugeMetricFamily("goldsocial_price_age_seconds",
                            "Seconds since the provider time of the latest accepted price", labels=["symbol"])
    stale = GaugeMetricFamily("goldsocial_price_stale", "1 if the symbol's price is stale or missing",
                              labels=["symbol"])
    items = {item["symbol"]: item for item in prices_latest(now=now)}
    for symbol in settings.MARKET_SYMBOLS:
        item = items.get(symbol)
        if item is not None:
            age.add_metric([symbol], item["age_seconds"])
        stale.add_metric([symbol], 1 if item is None or item["stale"] else 0)
    yield from (age, stale)
    yield from source_metrics(now=now)
    yield from disagreement_metrics()


def disagreement_metrics():
    """Per symbol: cycles whose sources disagreed beyond its agreement bound (PRICE_AGREE_PERCENT...).

    Counted by the price cycle in Redis (markets.cache.disagreements_count): no price that cycle,
    or an outlier set aside. Nothing when Redis is away (a gap, not a false 0).
    """
    counts = disagreements_read(symbols=settings.MARKET_SYMBOLS)
    if counts is None:
        return
    disagreements = CounterMetricFamily(
        "goldsocial_price_disagreements", "Price cycles in which the symbol's sources disagreed beyond "
        "PRICE_AGREE_PERCENT (no price, or an outlier set aside)", labels=["symbol"])
    for symbol in settings.MARKET_SYMBOLS:
        disagreements.add_metric([symbol], counts[symbol])
    yield disagreements


def source_metrics(*, now):
    """Per symbol and source: how long its quote has not changed, and whether that makes it frozen.

    Computed from the state the price cycle keeps in Redis, with the cycle's rule
    (markets.trust.frozen_sources), so the gauge says what the next cycle will set aside.
    """
    unchanged = GaugeMetricFamily("goldsocial_price_source_unchanged_seconds",
                                  "Seconds since the source's bid or ask of the symbol last changed",
                                  labels=["symbol", "source"])
    frozen = GaugeMetricFamily("goldsocial_price_source_frozen",
                               "1 if the source is set aside as frozen: unchanged for PRICE_FROZEN_SECONDS "
                               "while the market is open and another source moved", labels=["symbol", "source"])
    seen = seen_read(symbols=settings.MARKET_SYMBOLS) or {}
    frozen_after = timedelta(seconds=settings.PRICE_FROZEN_SECONDS)
    for symbol in settings.MARKET_SYMBOLS:
        sources = seen.get(symbol, {})
        found = frozen_sources(seen=sources, now=now, frozen_after=frozen_after) \
            if market_is_open(symbol=symbol, at=now) else {}
        for source, state in sorted(sources.items()):
            unchanged.add_metric([symbol, source], max((now - state.since).total_seconds(), 0.0))
            frozen.add_metric([symbol, source], 1 if source in found else 0)
    yield from (unchanged, frozen)
