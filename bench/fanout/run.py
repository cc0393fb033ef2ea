"""Fan-out benchmark: N WebSocket clients on /ws/prices/, one broadcast at a time.

    python -m bench.fanout.run --clients 1000 5000 --configs stock ours bare --broadcasts 10

Per configuration and size it prints, per broadcast, the delivery latency over all clients
(p50, p99, max = time until every client has it), messages lost, the server's CPU time per
broadcast and its memory per connection; and, once every client is connected, the server's open
file descriptors and its connections to Redis. The latest prices are in the cache first, as
the price fetcher keeps them in production, so each snapshot on connect comes from Redis.
Server on core 0, client processes on core 1 (os.sched_setaffinity), so the load generator
cannot take the server's core; the machine has 2 cores shared with other work, so figures vary
between runs.
"""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.processes import open_descriptors, tcp_connections_to

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVER_CORE, CLIENT_CORE = 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")

PRICES = [
    {"symbol": s, "bid": b, "ask": b * 1.0002, "price": b * 1.0001, "timestamp": "2026-11-29T09:00:05.012Z",
     "source": "swissquote", "age_seconds": 0.4, "stale": False}
    for s, b in [("XAUUSD", 2650.1), ("XAGUSD", 31.02), ("EURUSD", 1.0512), ("GBPUSD", 1.2634),
                 ("USDJPY", 151.42), ("BTCUSD", 83894.03)]
]
UPDATE = {"type": "price.update", "prices": PRICES}

# name -> (server kind, environment, uvicorn options). Every client offers permessage-deflate,
# as browsers do, so the server's compression setting decides.
SANSIO = ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
CONFIGS = {
    # What a Channels tutorial gives: a group per consumer, send_json per client, uvicorn defaults.
    "stock": ("uvicorn", {"FANOUT_CONSUMER": "stock"}, []),
    # realtime.consumers + realtime.fanout, on uvicorn's legacy websockets protocol, no compression.
    "ours-legacy-ws": ("uvicorn", {}, ["--ws", "websockets", "--ws-per-message-deflate", "false"]),
    # The same on uvicorn's sans-I/O websockets protocol: what the Procfile should run.
    "ours": ("uvicorn", {}, SANSIO),
    "ours-gc": ("uvicorn", {"FANOUT_GC": "freeze"}, SANSIO),
    "ours-core-layer": ("uvicorn", {"FANOUT_LAYER": "core"}, SANSIO),
    "ours-deflate": ("uvicorn", {}, ["--ws", "websockets-sansio"]),
    # Daphne (Twisted/autobahn) serving the same application; bench/asgi_server compares servers.
    "ours-daphne": ("daphne", {}, []),
    "bare": ("bare", {}, []),
    "bare-deflate": ("bare", {"DEFLATE": "1"}, []),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def wait_for_port(port: int, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not listen")


def start_server(name: str, port: int, redis_url: str, bare_channel: str):
    kind, extra_env, options = CONFIGS[name]
    env = {**os.environ, "DEBUG": "true", "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "bench.fanout.settings", "WS_MAX_CONNECTIONS_PER_IP": "1000000", **extra_env}
    env.pop("DATABASE_URL", None)
    if kind == "bare":
        cmd = [PYTHON, "-m", "bench.fanout.bare_server", str(port), redis_url, bare_channel,
               extra_env.get("DEFLATE", "0")]
    elif kind == "daphne":
        cmd = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--websocket_timeout", "-1", "-v", "0",
               "bench.fanout.asgi:application"]
    else:
        cmd = [PYTHON, "-m", "uvicorn", "bench.fanout.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
               "--backlog", "4096", "--loop", "uvloop", *options]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}))
    wait_for_port(port, proc)
    return proc


def django_setup(redis_url: str) -> None:
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.fanout.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()


def prices_cache(redis_url: str) -> None:
    """The latest prices in the cache, as the price fetcher leaves them every few seconds."""
    from datetime import UTC, datetime
    from decimal import Decimal

    django_setup(redis_url)
    from markets.cache import prices_write
    from markets.price import Price

    now = datetime.now(UTC)
    prices_write(prices=[Price(symbol=p["symbol"], bid=Decimal(str(p["bid"])), ask=Decimal(str(p["ask"])),
                               mid=Decimal(str(p["price"])), timestamp=now, source=p["source"])
                         for p in PRICES])


class Publisher:
    """Sends a broadcast the way production does: through the channel layer (or raw PUBLISH for bare)."""

    def __init__(self, name: str, redis_url: str, bare_channel: str):
        self.name = name
        self.kind = CONFIGS[name][0]
        if self.kind == "bare":
            import redis

            self.redis = redis.Redis.from_url(redis_url)
            self.channel = bare_channel
            return
        django_setup(redis_url)
        from channels.layers import channel_layers
        from django.conf import settings

        from bench.fanout.settings import CORE_LAYERS, PUBSUB_LAYERS
        from realtime.broadcast import relay_message
        from realtime.events import encode

        settings.CHANNEL_LAYERS = CORE_LAYERS if CONFIGS[name][1].get("FANOUT_LAYER") == "core" else PUBSUB_LAYERS
        channel_layers.backends.clear()
        self.stock = CONFIGS[name][1].get("FANOUT_CONSUMER") == "stock"
        self.relay_message = lambda message: relay_message(encode(message))

    def send(self, message: dict):
        if self.kind == "bare":
            self.redis.publish(self.channel, json.dumps(message, separators=(",", ":")))
            return
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        async_to_sync(get_channel_layer().group_send)("prices", message if self.stock else self.relay_message(message))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_one(name: str, clients: int, broadcasts: int, interval: float, processes: int, redis_url: str):
    port = free_port()
    bare_channel = f"fanout-bare-{port}"
    server = start_server(name, port, redis_url, bare_channel)
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Event()
    pipes, workers = [], []
    from bench.fanout import clients as client_module

    try:
        if CONFIGS[name][0] != "bare":
            prices_cache(redis_url)
        rss_before = rss_bytes(server.pid)
        shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
        for share in shares:
            parent, child = ctx.Pipe()
            worker = ctx.Process(target=client_module.main, args=(
                CLIENT_CORE, "127.0.0.1", port, "/ws/prices/", share, True, broadcasts, done,
                child))
            worker.start()
            pipes.append(parent)
            workers.append(worker)
        t0 = time.monotonic()
        statuses = [pipe.recv() for pipe in pipes]
        connected = sum(s["connected"] for s in statuses)
        connect_s = time.monotonic() - t0
        if connected < clients:
            print(f"  {name}: only {connected}/{clients} connected: {[s['first_error'] for s in statuses][:2]}")
        time.sleep(1.0)
        rss_after = rss_bytes(server.pid)
        descriptors = open_descriptors(server.pid)
        redis_connections = tcp_connections_to(server.pid, urlsplit(redis_url).port or 6379)
        publisher = Publisher(name, redis_url, bare_channel)
        sent_at = []
        cpu_start = cpu_seconds(server.pid)
        for _ in range(broadcasts):
            sent_at.append(time.time())
            publisher.send(UPDATE)
            time.sleep(interval)
        # A saturated server is still sending: wait until it is idle before counting losses.
        for _ in range(60):
            before = cpu_seconds(server.pid)
            time.sleep(0.5)
            if cpu_seconds(server.pid) - before < 0.02:
                break
        cpu_total = cpu_seconds(server.pid) - cpu_start
        done.set()
        reports = [pipe.recv() for pipe in pipes]
        for worker in workers:
            worker.join(30)
    finally:
        done.set()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    per_broadcast = []
    received = 0
    for n in range(broadcasts):
        times = [t - sent_at[n] for report in reports for t in report["arrivals"][n]]
        received += len(times)
        if times:
            per_broadcast.append((percentile(times, 0.5), percentile(times, 0.99), max(times)))
    lost = broadcasts * connected - received
    p50 = statistics.median(p[0] for p in per_broadcast) if per_broadcast else float("nan")
    p99 = statistics.median(p[1] for p in per_broadcast) if per_broadcast else float("nan")
    worst_p99 = max(p[1] for p in per_broadcast) if per_broadcast else float("nan")
    worst = max(p[2] for p in per_broadcast) if per_broadcast else float("nan")
    cpu_per = cpu_total / broadcasts
    mem = (rss_after - rss_before) / max(connected, 1)
    print(f"{name:18} {clients:6} conn={connected:6} ({connect_s:5.1f}s)  p50={p50 * 1000:7.1f}ms  "
          f"p99={p99 * 1000:7.1f}ms (worst {worst_p99 * 1000:7.1f})  max={worst * 1000:7.1f}ms  lost={lost:5}  "
          f"cpu/broadcast={cpu_per:6.3f}s ({cpu_per / max(connected, 1) * 1e6:5.1f}us/client)  "
          f"mem/conn={mem / 1024:5.1f}KiB  fds={descriptors:6} redis={redis_connections:5}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000])
    parser.add_argument("--configs", nargs="+", default=["stock", "ours", "bare"], choices=sorted(CONFIGS))
    parser.add_argument("--broadcasts", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between broadcasts")
    parser.add_argument("--processes", type=int, default=4, help="client processes (all on core 1)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    print(f"fan-out: {os.cpu_count()} cores (shared with other work), server on core {SERVER_CORE}, "
          f"clients in {args.processes} processes on core {CLIENT_CORE}; {args.broadcasts} broadcasts "
          f"{args.interval}s apart; message {len(json.dumps(UPDATE))} bytes", flush=True)
    for clients in args.clients:
        for name in args.configs:
            run_one(name, clients, args.broadcasts, args.interval, args.processes, args.redis_url)


if __name__ == "__main__":
    main()
