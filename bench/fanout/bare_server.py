"""The limit: a bare `websockets` server that relays each Redis message with websockets.broadcast().

Same trigger as the Channels runs (a Redis PUBLISH per broadcast), a snapshot frame on
connect, no Django, no Channels.
"""

import asyncio
import json
import os
import sys

import redis.asyncio as aioredis
import websockets
from websockets.asyncio.server import broadcast, serve

CLIENTS = set()


async def handler(ws):
    await ws.send(json.dumps({"type": "price.snapshot", "prices": []}))
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


async def relay(redis_url, channel):
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] == "message":
            broadcast(CLIENTS, message["data"].decode())


async def main(port, redis_url, channel, deflate):
    compression = "deflate" if deflate else None
    async with serve(handler, "127.0.0.1", port, compression=compression, max_queue=16, backlog=2048):
        await relay(redis_url, channel)


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    port, redis_url, channel, deflate = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    print(f"bare websockets {websockets.__version__} on {port}", flush=True, file=sys.stderr)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(port, redis_url, channel, deflate))
