from datetime import UTC, datetime, timedelta

import pytest

from jobs.models import Job
from jobs.selectors import jobs_status

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 29, 9, 0, 5, tzinfo=UTC)


def _row(key, **kwargs):
    return next(r for r in jobs_status(now=NOW, **kwargs) if r["job"].key == key)


def test_it_is_running_when_enabled_and_a_cluster_is_alive():
    assert _row("price_fetcher", clusters=1)["running"] is True


@pytest.mark.parametrize("clusters", [0, None])
def test_it_is_not_running_without_a_live_cluster(clusters):
    assert _row("price_fetcher", clusters=clusters)["running"] is False


def test_it_is_not_running_when_disabled():
    Job.objects.filter(pk="price_fetcher").update(enabled=False)
    row = _row("price_fetcher", clusters=2)
    assert row["running"] is False
    assert row["next_run_at"] is None


@pytest.mark.parametrize(("age", "healthy"), [
    (timedelta(seconds=0), True),
    (timedelta(seconds=14.9), True),   # younger than three 5 s intervals
    (timedelta(seconds=15), False),
    (timedelta(hours=1), False),
])
def test_it_is_healthy_while_the_last_success_is_younger_than_three_intervals(age, healthy):
    Job.objects.filter(pk="price_fetcher").update(last_success_at=NOW - age)
    assert _row("price_fetcher", clusters=1)["healthy"] is healthy


def test_it_is_not_healthy_when_not_running_even_after_a_recent_success():
    Job.objects.filter(pk="price_fetcher").update(last_success_at=NOW)
    assert _row("price_fetcher", clusters=0)["healthy"] is False


def test_it_is_not_healthy_before_any_success():
    assert _row("price_fetcher", clusters=1)["healthy"] is False


def test_the_endpoint_has_the_seed_shape_plus_the_extra_fields(client, redis_url):
    Job.objects.filter(pk="price_fetcher").update(
        runs=10, failures=2, consecutive_failures=1, skipped=3, expired=4, last_error="ProviderError: boom",
        last_run_at=datetime(2026, 11, 29, 9, 0, 5, 12000, tzinfo=UTC), last_duration_ms=41)

    body = client.get("/jobs/status").json()

    assert body["total_jobs"] == 4
    assert [job["name"] for job in body["jobs"]] == [
        "NewsFetcherJob", "NotificationDeliveryJob", "PredictionVerifierJob", "PriceFetcherJob"]
    price = body["jobs"][3]
    assert set(price) == {
        "name", "key", "running", "interval_seconds", "enabled", "healthy", "last_run_at",
        "last_success_at", "last_error", "last_duration_ms", "next_run_at", "runs", "failures",
        "consecutive_failures", "skipped", "expired", "recent_runs"}
    assert price["key"] == "price_fetcher"
    assert price["interval_seconds"] == 5
    assert price["running"] is False  # no qcluster runs in this test
    assert price["last_run_at"] == "2026-11-29T09:00:05.012Z"
    assert price["last_success_at"] is None
    assert (price["runs"], price["failures"], price["consecutive_failures"]) == (10, 2, 1)
    assert (price["skipped"], price["expired"]) == (3, 4)
    assert price["last_error"] == "ProviderError: boom"
    assert price["next_run_at"].endswith("Z")


def test_readyz_names_the_missing_cluster(client, redis_url):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert any("qcluster" in problem for problem in response.json()["problems"])


def test_healthz_answers(client):
    assert client.get("/healthz").status_code == 200


def test_metrics_expose_job_counters(client, redis_url):
    Job.objects.filter(pk="news_fetcher").update(runs=7, failures=3, expired=2)
    text = client.get("/metrics").content.decode()
    assert 'goldsocial_job_runs_total{job="news_fetcher"} 7.0' in text
    assert 'goldsocial_job_failures_total{job="news_fetcher"} 3.0' in text
    assert 'goldsocial_job_expired_total{job="news_fetcher"} 2.0' in text
    assert "goldsocial_live_clusters 0.0" in text


def test_the_openapi_schema_describes_the_status_endpoint(client):
    schema = client.get("/api/schema/?format=json").json()
    fields = schema["components"]["schemas"]["JobStatus"]["properties"]
    assert fields["last_run_at"]["format"] == "date-time"


def test_it_lists_each_jobs_last_60_runs_oldest_first(client, redis_url):
    from jobs.models import JobRun

    outcomes = ["success", "failed", "skipped", "expired", "running"]
    JobRun.objects.bulk_create(
        [JobRun(job_id="price_fetcher", started_at=NOW - timedelta(seconds=5 * i), outcome=outcomes[i % 5],
                duration_ms=i) for i in range(70)]
        + [JobRun(job_id="news_fetcher", started_at=NOW, outcome="failed", error="x" * 5000)])

    jobs = {job["key"]: job for job in client.get("/jobs/status").json()["jobs"]}

    runs = jobs["price_fetcher"]["recent_runs"]
    assert len(runs) == 60
    assert runs[-1] == {"started_at": "2026-11-29T09:00:05.000Z", "outcome": "success", "duration_ms": 0}
    assert runs[0]["duration_ms"] == 59  # the 60th most recent; older ones are left out
    assert [r["outcome"] for r in runs[-5:]] == ["running", "expired", "skipped", "failed", "success"]
    assert jobs["news_fetcher"]["recent_runs"] == [
        {"started_at": "2026-11-29T09:00:05.000Z", "outcome": "failed", "duration_ms": None}]
    assert jobs["prediction_verifier"]["recent_runs"] == []
