from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from goldsocial.health import metrics_collector
from markets.selectors import prices_latest


@metrics_collector
def price_metrics():
    age = GaugeMetricFamily("goldsocial_price_age_seconds",
                            "Seconds since the provider time of the latest accepted price", labels=["symbol"])
    stale = GaugeMetricFamily("goldsocial_price_stale", "1 if the symbol's price is stale or missing",
                              labels=["symbol"])
    items = {item["symbol"]: item for item in prices_latest(now=timezone.now())}
    for symbol in settings.MARKET_SYMBOLS:
        item = items.get(symbol)
        if item is not None:
            age.add_metric([symbol], item["age_seconds"])
        stale.add_metric([symbol], 1 if item is None or item["stale"] else 0)
    yield from (age, stale)
