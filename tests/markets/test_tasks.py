"""The job entry point run by the jobs runner, as the `price_fetcher` schedule runs it."""

from jobs.models import Job, JobRun
from jobs.services import job_run
from tests.markets.factories import NOW
from tests.markets.recorded import serve_all


def test_it_records_a_price_run_with_its_summary(httpserver, market_settings, db):
    serve_all(httpserver)

    run = job_run(key="price_fetcher", now=NOW)

    assert run.outcome == JobRun.Outcome.SUCCESS
    assert run.summary == "6 prices: 6 fresh"
    assert Job.objects.get(pk="price_fetcher").consecutive_failures == 0


def test_it_records_a_failed_run_when_no_market_got_a_price(httpserver, market_settings, db):
    httpserver.expect_request("/").respond_with_data("nope", status=503)

    run = job_run(key="price_fetcher", now=NOW)

    assert run.outcome == JobRun.Outcome.FAILED
    assert run.error.startswith("PricesUnavailable: 6 prices: 6 failed")
