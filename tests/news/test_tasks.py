import pytest

from jobs.models import JobRun
from jobs.services import job_run
from news.models import Article
from news.tasks import fetch_news
from tests.news.feeds import NOW, fixture_bytes, serve

pytestmark = pytest.mark.django_db


def test_it_runs_one_cycle_and_returns_its_summary(httpserver, make_source):
    serve(httpserver, "/tracked", fixture_bytes("tracking_variants.xml"))
    make_source("/tracked")
    assert fetch_news(now=NOW) == "1 sources due: 1 fetched, 0 unchanged (304), 0 failed; 2 new articles; 0 pruned"


def test_it_is_recorded_as_the_news_fetcher_job(httpserver, make_source, redis_url):
    serve(httpserver, "/down", b"", status=503, headers={"Retry-After": "60"})
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    make_source("/down")
    make_source("/fx")
    run = job_run(key="news_fetcher", now=NOW)
    # A failing feed is the feed's error, not the job's.
    assert run.outcome == JobRun.Outcome.SUCCESS
    assert run.summary == ("2 sources due: 1 fetched, 0 unchanged (304), 1 failed; 2 new articles; 0 pruned; "
                           "failed: /down (see each source's last error)")
    assert Article.objects.count() == 2
