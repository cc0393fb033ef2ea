"""uvicorn or daphne? HTTP requests/s on /healthz, then a small WebSocket broadcast.

    python -m bench.asgi_server.run [--seconds 10] [--connections 32] [--ws-clients 1000]

The server runs pinned to core 0, the load generator to core 1 (os.sched_setaffinity).
The HTTP client is a bare asyncio keep-alive loop (no client library in the way); each
server serves the project's real ASGI application (goldsocial.asgi) on SQLite.
"""

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time

from bench.fanout.run import CLIENT_CORE, ROOT, SERVER_CORE, cpu_seconds, free_port, run_one, wait_for_port

PYTHON = sys.executable
SERVERS = {
    "uvicorn": lambda port: [PYTHON, "-m", "uvicorn", "goldsocial.asgi:application", "--host", "127.0.0.1",
                             "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
                             "--ws", "websockets-sansio", "--ws-per-message-deflate", "false"],
    "daphne": lambda port: [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0",
                            "goldsocial.asgi:application"],
}


async def _http_load(port: int, connections: int, seconds: float) -> tuple[int, int]:
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "bad": 0}

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            counts["ok" if head.startswith(b"HTTP/1.1 200") else "bad"] += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return counts["ok"], counts["bad"]


def _http_client(port, connections, seconds, queue):
    os.sched_setaffinity(0, {CLIENT_CORE})
    import uvloop

    uvloop.install()
    queue.put(asyncio.run(_http_load(port, connections, seconds)))


def http_bench(name: str, seconds: float, connections: int, redis_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DEBUG": "true", "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "goldsocial.settings", "ANON_READ_RATE": "1000000/minute",
           "WS_MAX_CONNECTIONS_PER_IP": "1000000"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(SERVERS[name](port), cwd=ROOT, env=env,
                              preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}))
    try:
        wait_for_port(port, server)
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        client = ctx.Process(target=_http_client, args=(port, connections, 1.0, queue))  # warm-up
        client.start()
        queue.get()
        client.join()
        c0 = cpu_seconds(server.pid)
        client = ctx.Process(target=_http_client, args=(port, connections, seconds, queue))
        client.start()
        ok, bad = queue.get()
        client.join()
        cpu = cpu_seconds(server.pid) - c0
    finally:
        server.terminate()
        server.wait(10)
    print(f"{name:8} HTTP /healthz: {ok / seconds:7.0f} req/s over {connections} keep-alive connections "
          f"({bad} non-200), server CPU {cpu / max(ok, 1) * 1e6:6.0f} us/request", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--ws-clients", type=int, default=1000)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    print(f"asgi servers: {os.cpu_count()} cores shared with other work; server on core {SERVER_CORE}, "
          f"load on core {CLIENT_CORE}", flush=True)
    for name in SERVERS:
        http_bench(name, args.seconds, args.connections, args.redis_url)
    print(f"WebSocket broadcast to {args.ws_clients} clients of /ws/prices/ (bench/fanout):", flush=True)
    for name in ("ours", "ours-daphne"):
        run_one(name, args.ws_clients, 5, 1.5, 2, args.redis_url)


if __name__ == "__main__":
    main()
