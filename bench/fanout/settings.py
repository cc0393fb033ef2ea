"""The project's settings, with the channel layer the benchmark asks for (FANOUT_LAYER=core|pubsub)."""

import os
from urllib.parse import urlsplit

from goldsocial.settings import *  # noqa: F403
from goldsocial.settings import CHANNEL_LAYERS, REDIS_URL

# A prefix of its own: a benchmark must not hear (or be heard by) a test run on the same Redis,
# nor another benchmark on another database of it (Pub/Sub channels ignore the database).
_PREFIX = f"fanout-bench.{urlsplit(REDIS_URL).path.strip('/') or '0'}."
PUBSUB_LAYERS = {"default": {**CHANNEL_LAYERS["default"],
                             "CONFIG": {**CHANNEL_LAYERS["default"]["CONFIG"], "prefix": _PREFIX}}}
CHANNEL_LAYERS = PUBSUB_LAYERS
CORE_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # NOTES.md: with redis-py 8 the pool's cap of 100 connections and a socket timeout
        # equal to the layer's own 5 s wait killed consumers under load.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "max_connections": 1000, "socket_timeout": None}],
                   "prefix": "fanout-bench"},
    }
}
if os.environ.get("FANOUT_LAYER") == "core":
    CHANNEL_LAYERS = CORE_LAYERS
