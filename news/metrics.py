from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily

from goldsocial.health import metrics_collector
from news.models import Article, NewsSource


@metrics_collector
def news_metrics():
    counts = NewsSource.objects.aggregate(
        ok=Count("pk", filter=Q(enabled=True, consecutive_errors=0)),
        failing=Count("pk", filter=Q(enabled=True, consecutive_errors__gt=0)),
        disabled=Count("pk", filter=Q(enabled=False)),
    )
    sources = GaugeMetricFamily("goldsocial_news_sources", "News sources by state (failing: enabled, backing "
                                "off after errors)", labels=["state"])
    for state, value in counts.items():
        sources.add_metric([state], value)
    yield sources
    yield GaugeMetricFamily("goldsocial_news_articles", "Stored articles (within the retention horizon)",
                            value=Article.objects.count())
