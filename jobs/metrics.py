from collections.abc import Iterator

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from goldsocial.health import metrics_collector
from jobs.selectors import jobs_status, live_clusters


@metrics_collector
def job_metrics() -> Iterator[Metric]:
    clusters = live_clusters()
    rows = jobs_status(now=timezone.now(), clusters=clusters)
    runs = CounterMetricFamily("goldsocial_job_runs", "Finished job runs", labels=["job"])
    failures = CounterMetricFamily("goldsocial_job_failures", "Failed job runs", labels=["job"])
    skipped = CounterMetricFamily("goldsocial_job_skipped", "Runs skipped because the previous "
                                  "run was still going", labels=["job"])
    expired = CounterMetricFamily("goldsocial_job_expired", "Scheduled runs not run because they "
                                  "reached a worker more than one interval after their slot",
                                  labels=["job"])
    duration = GaugeMetricFamily("goldsocial_job_last_duration_seconds",
                                 "Duration of the last run", labels=["job"])
    healthy = GaugeMetricFamily("goldsocial_job_healthy", "1 if the job is healthy",
                                labels=["job"])
    for row in rows:
        job = row["job"]
        runs.add_metric([job.key], job.runs)
        failures.add_metric([job.key], job.failures)
        skipped.add_metric([job.key], job.skipped)
        expired.add_metric([job.key], job.expired)
        duration.add_metric([job.key], (job.last_duration_ms or 0) / 1000)
        healthy.add_metric([job.key], 1 if row["healthy"] else 0)
    yield from (runs, failures, skipped, expired, duration, healthy)
    yield GaugeMetricFamily("goldsocial_live_clusters", "qcluster processes alive",
                            value=clusters or 0)
