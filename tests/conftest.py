import contextlib
import os

import pytest
import redis

from tests.require import require_service


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
def postgres(settings):
    require_service(settings.IS_POSTGRES, "PostgreSQL",
                    "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/goldsocial")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.IS_POSTGRES:
        return
    # PostgreSQL-only behaviour (select_for_update across processes) runs in the PostgreSQL
    # pass of `make test`; on SQLite those tests are deselected, not skipped.
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def broadcasts():
    """Capture the events sent through goldsocial.broadcast instead of sending them."""
    from goldsocial import broadcast

    captured: list = []
    broadcast._captures.append(captured)
    yield captured
    broadcast._captures.remove(captured)
