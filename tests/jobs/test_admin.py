import pytest
from django.urls import reverse
from django_q.brokers import get_broker

from jobs.models import Job, JobRun

pytestmark = pytest.mark.django_db


def _change(admin_client, key, **data):
    url = reverse("admin:jobs_job_change", args=[key])
    return admin_client.post(url, {"enabled": "on", "interval_seconds": 5,
                                   "job_runs-TOTAL_FORMS": 0, "job_runs-INITIAL_FORMS": 0, **data})


def test_an_interval_edit_reschedules_and_is_kept_as_the_operators(admin_client):
    response = _change(admin_client, "price_fetcher", interval_seconds=10)

    assert response.status_code == 302
    job = Job.objects.select_related("schedule").get(pk="price_fetcher")
    assert job.interval_seconds == 10 and job.interval_set_by_operator
    assert job.schedule.cron == "* * * * * */10"


def test_an_interval_that_no_cron_can_express_is_refused_with_a_reason(admin_client):
    response = _change(admin_client, "price_fetcher", interval_seconds=7)

    assert response.status_code == 200
    assert "does not divide a minute" in response.content.decode()
    assert Job.objects.get(pk="price_fetcher").interval_seconds == 5


def test_disable_and_enable_actions_switch_the_schedule(admin_client):
    url = reverse("admin:jobs_job_changelist")
    admin_client.post(url, {"action": "disable", "_selected_action": ["news_fetcher"]})
    assert Job.objects.get(pk="news_fetcher").schedule.repeats == 0

    admin_client.post(url, {"action": "enable", "_selected_action": ["news_fetcher"]})
    assert Job.objects.get(pk="news_fetcher").schedule.repeats == -1


def test_run_now_queues_the_job_for_a_cluster_worker(admin_client, redis_url):
    broker = get_broker()
    before = broker.queue_size()

    admin_client.post(reverse("admin:jobs_job_changelist"),
                      {"action": "run_now", "_selected_action": ["price_fetcher"]})

    assert broker.queue_size() == before + 1


def test_the_job_page_lists_recent_runs_with_their_errors(admin_client):
    JobRun.objects.create(job_id="news_fetcher", started_at="2026-11-29T09:00:00Z",
                          outcome="failed", error="FeedError: HTTP 503 from mining.com")

    page = admin_client.get(reverse("admin:jobs_job_change", args=["news_fetcher"])).content.decode()

    assert "FeedError: HTTP 503 from mining.com" in page


def test_the_job_list_shows_expired_runs(admin_client):
    Job.objects.filter(pk="price_fetcher").update(expired=59)

    page = admin_client.get(reverse("admin:jobs_job_changelist")).content.decode()

    assert "column-expired" in page
    assert '<td class="field-expired">59</td>' in page
