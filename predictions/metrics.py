"""Predictions by status and verifications by kind, for /metrics.

Counting them is a GROUP BY over whole tables that only grow, so a scrape does not count: the
verifier job counts after each run (once a minute for the whole deployment, however many
scrapers or web processes) and stores the figures in the cache, and a scrape reads them. The
figures are as of the last verifier run (`goldsocial_prediction_counts_timestamp_seconds`);
a scrape counts only when the cache has none yet.
"""

from datetime import datetime

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from goldsocial.health import metrics_collector
from predictions.models import Prediction, VerificationAudit

COUNTS_KEY = "predictions:metrics:counts"


def prediction_counts_refresh(*, now: datetime) -> dict:
    """Count predictions by status and audit records by kind now; store and return the counts."""
    counts = {
        "at": now.timestamp(),
        "status": dict(Prediction.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "kind": dict(VerificationAudit.objects.values_list("kind").annotate(n=Count("id")).order_by()),
    }
    cache.set(COUNTS_KEY, counts, timeout=None)
    return counts


@metrics_collector
def prediction_metrics():
    counts = cache.get(COUNTS_KEY) or prediction_counts_refresh(now=timezone.now())
    by_status = GaugeMetricFamily("goldsocial_predictions", "Predictions by status (as of the last verifier run)",
                                  labels=["status"])
    for status in Prediction.Status.values:
        by_status.add_metric([status], counts["status"].get(status, 0))
    verifications = CounterMetricFamily("goldsocial_verifications", "Verification audit records by kind "
                                        "(automatic, void, awaiting_manual, manual, correction)", labels=["kind"])
    for kind in VerificationAudit.Kind.values:
        verifications.add_metric([kind], counts["kind"].get(kind, 0))
    yield from (by_status, verifications)
    yield GaugeMetricFamily("goldsocial_prediction_counts_timestamp_seconds",
                            "When the prediction and verification counts were taken (Unix time)", value=counts["at"])
