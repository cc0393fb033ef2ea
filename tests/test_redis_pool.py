"""The cache's Redis pool: one per process, bounded, fork-safe (goldsocial/redis_pool.py)."""

import asyncio
import contextvars
import multiprocessing

import pytest
import redis
from channels.db import database_sync_to_async
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from goldsocial.redis_pool import ProcessConnectionPool


def _pool_of(some_cache) -> ProcessConnectionPool:
    return some_cache._cache._get_connection_pool(write=True)


def _connections(url: str, name: str) -> int:
    """Connections Redis sees open under client name `name`."""
    with redis.Redis.from_url(url) as client:
        return sum(1 for c in client.client_list() if c["name"] == name)


def _cache(url: str, **options) -> RedisCache:
    return RedisCache(url, {"OPTIONS": {"pool_class": "goldsocial.redis_pool.ProcessConnectionPool", **options}})


def test_every_context_of_a_process_shares_one_pool(redis_url):
    # A context of its own, as each task uvicorn starts per socket: asgiref gives each its own
    # cache object.
    results = [contextvars.Context().run(lambda: (caches["default"], _pool_of(caches["default"])))
               for _ in range(20)]

    assert len({id(c) for c, _ in results}) == 20
    assert len({id(p) for _, p in results}) == 1


def test_many_contexts_use_no_more_connections_than_the_bound(redis_url):
    bounded = dict(max_connections=3, timeout=5, client_name="bounded-pool-test")

    async def one_context(release: asyncio.Event):
        await database_sync_to_async(lambda: _cache(redis_url, **bounded).get_many(["a", "b"]))()
        await release.wait()

    async def many():
        release = asyncio.Event()
        tasks = [asyncio.ensure_future(one_context(release)) for _ in range(200)]
        await asyncio.sleep(0.5)
        open_while_alive = _connections(redis_url, bounded["client_name"])
        release.set()
        await asyncio.gather(*tasks)
        return open_while_alive

    assert 1 <= asyncio.run(many()) <= 3


def test_a_saturated_pool_waits_then_fails_naming_the_setting(redis_url):
    small = _cache(redis_url, max_connections=1, timeout=0.05)
    held = _pool_of(small).get_connection()
    try:
        with pytest.raises(redis.ConnectionError, match="REDIS_MAX_CONNECTIONS"):
            small.get("anything")
    finally:
        _pool_of(small).release(held)
    assert small.get("anything", "answered") == "answered"


def _child_client_id(queue):
    queue.put((cache.set("from-child", 1), redis.Redis(connection_pool=_pool_of(cache)).client_id()))


def test_a_forked_worker_opens_connections_of_its_own(redis_url):
    parent = redis.Redis(connection_pool=_pool_of(cache))
    parent_id = parent.client_id()
    # django-q2 forks its workers from a cluster process that has used the cache already.
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_client_id, args=(queue,))
    child.start()
    stored, child_id = queue.get(timeout=20)
    child.join(20)

    assert child.exitcode == 0 and stored is None
    assert child_id != parent_id
    assert cache.get("from-child") == 1
    assert parent.client_id() == parent_id  # the parent's connection is still its own and intact
