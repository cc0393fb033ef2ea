"""One bounded Redis connection pool per process for the cache, however many sockets are open.

Django keeps a cache object per asyncio context (`django.core.cache.caches` is an asgiref
Local), so under ASGI every WebSocket consumer and every request builds its own RedisCache,
and each of those would open a redis-py pool of its own that is never closed: one Redis
connection per open socket (10,000 sockets, 10,000 connections: Redis' default maxclients).
Named as the cache's OPTIONS["pool_class"], this class hands all of them the same pool.
"""

import redis

_pools: dict[tuple[str, str], "ProcessConnectionPool"] = {}


class ProcessConnectionPool(redis.BlockingConnectionPool):
    """At most `max_connections` connections; a caller finding them all busy waits `timeout`
    seconds, then gets a ConnectionError (a RedisError, which every cache reader handles).

    Fork-safe as redis-py's pools are: the first use in a forked child (a django-q2 worker)
    drops the parent's connections and starts afresh.
    """

    @classmethod
    def from_url(cls, url: str, **options) -> "ProcessConnectionPool":
        key = (url, repr(sorted(options.items())))
        pool = _pools.get(key)
        if pool is None:
            # No lock: two threads racing here build two pools, setdefault keeps one, and
            # the other is dropped before it ever opened a connection.
            pool = _pools.setdefault(key, super().from_url(url, **options))
        return pool

    def get_connection(self, *args, **kwargs):
        try:
            return super().get_connection(*args, **kwargs)
        except redis.ConnectionError as exc:
            if str(exc) != "No connection available.":
                raise
            raise redis.ConnectionError(
                f"all {self.max_connections} Redis connections of this process stayed busy for {self.timeout} s "
                "(REDIS_MAX_CONNECTIONS, REDIS_POOL_TIMEOUT_SECONDS)") from None
