import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


@pytest.fixture
def noop_jobs(settings):
    settings.EXTRA_JOBS = {"noop": ("NoopJob", "tests.jobs.noop.run", 5),
                           "failing": ("FailingJob", "tests.jobs.noop.fail", 5)}


def test_runjob_prints_what_the_job_did(noop_jobs, capsys):
    call_command("runjob", "noop")
    assert "noop done in" in capsys.readouterr().out


def test_runjob_fails_with_the_jobs_error(noop_jobs):
    with pytest.raises(CommandError, match="failing failed after .* RuntimeError: provider said no"):
        call_command("runjob", "failing")


def test_runjob_names_the_known_jobs_for_an_unknown_key():
    with pytest.raises(CommandError, match="unknown job 'nope'; known jobs: price_fetcher"):
        call_command("runjob", "nope")


def test_preflight_passes_when_database_and_redis_answer(redis_url, capsys):
    call_command("preflight")
    assert "answer" in capsys.readouterr().out


def test_preflight_says_how_to_start_a_missing_redis(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.REDIS_URL}}
    with pytest.raises(CommandError, match=r"Redis at redis://127.0.0.1:1/0 does not answer.*redis-server"):
        call_command("preflight")
