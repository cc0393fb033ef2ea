import contextlib
import os
from pathlib import Path

import pytest
import redis

from tests.require import require_service

NOOP_INTERVAL = 2


@pytest.fixture
def redis_url(settings):
    url = settings.REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        ok = True
    except redis.RedisError:
        ok = False
    require_service(ok, f"Redis at {url}",
                    "start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379")
    return url


@pytest.fixture(autouse=True)
def _clean_redis(request):
    """Each test starts with an empty Redis test database (cache, broker, channel layer)."""
    url = os.environ["REDIS_URL"]
    # Tests that need Redis ask for the `redis_url` fixture and fail or skip there.
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    yield


@pytest.fixture
def noop_job_only(settings, redis_url):
    """Only the trivial job is scheduled, every NOOP_INTERVAL seconds (the real jobs would call
    the internet). Returns the interval: 2 s, not 1, so that a run a busy machine starts a
    second late is not expired."""
    from jobs.models import Job
    from jobs.services import job_update, schedules_sync

    settings.EXTRA_JOBS = {"noop": ("NoopJob", "tests.jobs.noop.run", NOOP_INTERVAL),
                           "sleepy": ("SleepyJob", "tests.jobs.noop.sleep", 60)}
    schedules_sync()
    for job in Job.objects.exclude(pk="noop"):
        job_update(job=job, enabled=False, interval_seconds=job.interval_seconds)
    return NOOP_INTERVAL


def _is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    """On SQLite the test database is a file, not memory: tests start real processes that use it.

    One file per xdist worker (test_db.sqlite3, test_dbgw0.sqlite3, ...), as `make clean` and
    .gitignore expect.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        worker = getattr(request.config, "workerinput", {}).get("workerid", "")
        database.setdefault("TEST", {})["NAME"] = str(Path(settings.BASE_DIR) / f"test_db{worker}.sqlite3")


@pytest.fixture
def postgres():
    require_service(_is_postgres(), "PostgreSQL",
                    "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/goldsocial")


def pytest_collection_modifyitems(config, items):
    if _is_postgres():
        return
    # PostgreSQL-only behaviour (select_for_update across processes) runs in the PostgreSQL
    # pass of `make test`; on SQLite those tests are deselected, not skipped.
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(autouse=True, scope="session")
def _static_files_from_the_apps():
    """In-process tests find static files in the apps, as development does.

    Tests run with DEBUG off, whose storage needs `collectstatic` and its manifest before any
    {% static %}; the servers the tests start get a collected copy (tests/realtime/server.py).
    """
    from django.conf import settings
    from django.test import override_settings

    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages, WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture
def browser():
    """Headless Chromium (tests/browser.py); skips locally, fails in CI, when it is missing."""
    from tests.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def broadcasts():
    """Capture the (group, message) pairs sent through realtime.broadcast instead of sending them."""
    from realtime import broadcast

    captured: list = []
    broadcast._captures.append(captured)
    yield captured
    broadcast._captures.remove(captured)
    # Whatever a test made the code send must be a message of the wire protocol.
    from tests.wire import assert_valid_message

    for _group, message in captured:
        assert_valid_message(message)


@pytest.fixture(scope="session")
def make_httpserver(httpserver_listen_address, httpserver_ssl_context):
    """pytest-httpserver's server, threaded: a price cycle sends its requests at once, and a
    single-threaded server would answer them one after another, past a client's timeout on a
    busy machine."""
    from pytest_httpserver import HTTPServer

    host, port = httpserver_listen_address
    server = HTTPServer(host=host or HTTPServer.DEFAULT_LISTEN_HOST, port=port or HTTPServer.DEFAULT_LISTEN_PORT,
                        ssl_context=httpserver_ssl_context, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
