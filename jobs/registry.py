"""The one place that declares the project's periodic jobs.

An entry point is a dotted path to `fn(*, now) -> str`: it does one run and returns a short
summary of what it did, or raises. Its default interval comes from settings (environment),
so an operator can change it without code; an edit in the admin wins over both.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class JobSpec:
    key: str
    name: str
    entry_point: str
    default_interval: int
    # Seconds after which django-q2 kills the run; the overlap lease outlives it slightly,
    # so a killed run never leaves its job locked for longer than this.
    timeout: int


def all_jobs() -> dict[str, JobSpec]:
    jobs = [
        JobSpec("price_fetcher", "PriceFetcherJob", "markets.tasks.fetch_prices",
                settings.JOB_INTERVALS["price_fetcher"], timeout=30),
        JobSpec("news_fetcher", "NewsFetcherJob", "news.tasks.fetch_news",
                settings.JOB_INTERVALS["news_fetcher"], timeout=600),
        JobSpec("prediction_verifier", "PredictionVerifierJob",
                "predictions.tasks.verify_predictions",
                settings.JOB_INTERVALS["prediction_verifier"], timeout=300),
        # Its own job, not part of the verifier's run: a long push backlog must not delay
        # verifications (the job lease lets one run of a job go at a time).
        JobSpec("notification_delivery", "NotificationDeliveryJob",
                "predictions.tasks.deliver_pending_notifications",
                settings.JOB_INTERVALS["notification_delivery"], timeout=300),
    ]
    for key, (name, entry_point, interval) in settings.EXTRA_JOBS.items():
        jobs.append(JobSpec(key, name, entry_point, interval, timeout=max(30, interval * 2)))
    return {job.key: job for job in jobs}


def get_job(key: str) -> JobSpec:
    jobs = all_jobs()
    try:
        return jobs[key]
    except KeyError:
        raise KeyError(f"unknown job {key!r}; known jobs: {', '.join(jobs)}") from None
