from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from goldsocial.health import metrics_collector
from predictions.models import Prediction, VerificationAudit


@metrics_collector
def prediction_metrics():
    by_status = GaugeMetricFamily("goldsocial_predictions", "Predictions by status", labels=["status"])
    counts = dict(Prediction.objects.values_list("status").annotate(n=Count("id")).order_by())
    for status in Prediction.Status.values:
        by_status.add_metric([status], counts.get(status, 0))
    verifications = CounterMetricFamily("goldsocial_verifications", "Verification audit records by kind "
                                        "(automatic, void, awaiting_manual, manual, correction)", labels=["kind"])
    kinds = dict(VerificationAudit.objects.values_list("kind").annotate(n=Count("id")).order_by())
    for kind in VerificationAudit.Kind.values:
        verifications.add_metric([kind], kinds.get(kind, 0))
    yield from (by_status, verifications)
