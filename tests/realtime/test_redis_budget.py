"""The web process's Redis connections stay bounded however many sockets it serves."""

import asyncio
import json
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect

from tests.processes import child_database_url, tcp_connections_to
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

SOCKETS = 300
CACHE_POOL = 4
# The channel layer's one Pub/Sub connection, and the open-sockets counter's short-lived one
# (realtime/metrics.py) should a measurement fall on it.
OTHERS = 2


async def _redis_connections_with_sockets_open(address: str, count_connections) -> tuple[int, int]:
    sockets = []
    starting = asyncio.Semaphore(50)

    async def one():
        async with starting:
            ws = await connect(f"ws://{address}/ws/prices/", open_timeout=30)
        sockets.append(ws)
        return json.loads(await asyncio.wait_for(ws.recv(), 30))["type"]

    try:
        frames = await asyncio.gather(*(one() for _ in range(SOCKETS)))
        return frames.count("price.snapshot"), count_connections()
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def test_the_web_process_keeps_its_redis_connections_bounded_with_hundreds_of_sockets_open(redis_url):
    redis_port = urlsplit(redis_url).port or 6379
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url,
                        # Every socket comes from 127.0.0.1: lift the per-address socket limit.
                        extra_env={"REDIS_MAX_CONNECTIONS": str(CACHE_POOL),
                                   "WS_MAX_CONNECTIONS_PER_IP": str(SOCKETS + 10)}) as (address, proc):
        snapshots, connections = asyncio.run(_redis_connections_with_sockets_open(
            address, lambda: tcp_connections_to(proc.pid, redis_port)))

    assert snapshots == SOCKETS
    assert 1 <= connections <= CACHE_POOL + OTHERS
    assert "Traceback" not in proc.log, proc.log
