"""Soak: the whole system with real processes at production intervals.

Two web servers (uvicorn as in the Procfile) and one qcluster (ORM broker) against
PostgreSQL and a private redis-server; quote providers served from loopback with fresh
recorded bodies; a few hundred WebSocket clients split over both web servers; a steady
stream of predictions and votes through the REST API. Prints: job runs and failures per
job, price updates each client received against the cycles that ran, predictions resolved,
request latencies, and the memory (RSS) of every process at the start and the end.

    .venv/bin/python bench/soak/run.py                      # 10 minutes, 300 clients
    .venv/bin/python bench/soak/run.py --minutes 2 --clients 100

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/goldsocial_soak,
created and migrated if missing; its tables are emptied first) and redis-server on PATH.
"""

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/goldsocial_soak")
SECRET = "soak-only-not-secret"
OPTIONS = [
    {"key": "UP", "text": "up", "condition": "price_change_percent > 0"},
    {"key": "FLAT", "text": "unchanged", "condition": "price_change_percent == 0"},
    {"key": "DOWN", "text": "down", "condition": "price_change_percent < 0"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """RSS of `pid` and all its descendants (qcluster forks its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--prediction-every", type=float, default=5.0, help="seconds between predictions")
    parser.add_argument("--voters", type=int, default=50, help="votes per prediction")
    options = parser.parse_args()

    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')

    redis_port = free_port()
    redis_proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                                  start_new_session=True)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": redis_url, "SECRET_KEY": SECRET, "DEBUG": "false",
           "ALLOWED_HOSTS": "localhost,127.0.0.1", "SECURE_COOKIES": "false", "SECURE_SSL_REDIRECT": "false",
           "QCLUSTER_BROKER": "orm", "QCLUSTER_WORKERS": "2", "MARKET_CLOSED_POLL_SECONDS": "1",
           "LOG_LEVEL": "WARNING", "PREDICTION_CREATE_RATE": "100000/hour", "PREDICTION_VOTE_RATE": "1000000/hour",
           # Every client is on 127.0.0.1: one address, the whole load.
           "WS_MAX_CONNECTIONS_PER_IP": "100000", "ANON_READ_RATE": "1000000/minute",
           "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "goldsocial.settings"}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "QCLUSTER_BROKER",
                                          "DJANGO_SETTINGS_MODULE", "DEBUG", "ALLOWED_HOSTS")})
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from jobs.models import Job, JobRun
    from jobs.services import job_update, schedules_sync
    from predictions.models import Prediction
    from realtime.broadcast import broadcast_outside_transaction
    from realtime.events import encode
    from tests.faults.services import QuoteServer

    with connection.cursor() as cursor:  # a clean slate: this database is the bench's own
        cursor.execute("TRUNCATE jobs_jobrun, markets_pricetick, predictions_prediction, auth_user CASCADE")
    schedules_sync()
    for job in Job.objects.all():
        job_update(job=job, enabled=job.pk in ("price_fetcher", "prediction_verifier"),
                   interval_seconds=job.interval_seconds)
    User = get_user_model()  # noqa: N806
    users = User.objects.bulk_create([User(username=f"soak{i}", password="!") for i in range(options.voters + 1)])
    tokens = [Token.objects.create(user=u).key for u in users]

    quotes = QuoteServer()
    env.update(quotes.provider_env())
    logs = Path("/tmp") / f"goldsocial-soak-{os.getpid()}"
    logs.mkdir()
    procs = {}
    web_ports = [free_port(), free_port()]
    for i, port in enumerate(web_ports):
        procs[f"web{i}"] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "goldsocial.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--lifespan", "off", "--no-access-log", "--ws", "websockets-sansio",
             "--ws-per-message-deflate", "false"],
            cwd=ROOT, env={**env, "DB_POOL": "true"}, stdout=open(logs / f"web{i}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True)
    procs["qcluster"] = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                         stdout=open(logs / "qcluster.log", "wb"),  # noqa: SIM115
                                         stderr=subprocess.STDOUT, start_new_session=True)
    import requests

    try:
        deadline = time.monotonic() + 60
        for port in web_ports:
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"web on {port} not ready; logs in {logs}")
                time.sleep(0.5)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, database {DB_URL}, "
              f"private redis :{redis_port}")
        print(f"{options.minutes} min, {options.clients} WebSocket clients on 2 web servers, "
              f"a prediction every {options.prediction_every} s with {options.voters} votes; logs in {logs}")

        # --- WebSocket clients ------------------------------------------------------------
        counts = [0] * options.clients
        marked = [[None, None] for _ in range(options.clients)]
        ready = threading.Event()
        stop_ws = threading.Event()
        dropped = [0]

        async def client(i):
            from websockets.asyncio.client import connect

            url = f"ws://127.0.0.1:{web_ports[i % 2]}/ws/prices/"
            async with connect(url, open_timeout=30, ping_interval=None) as ws:
                await ws.recv()  # snapshot
                connected[0] += 1
                try:
                    async for frame in ws:
                        if '"marker":"start"' in frame:
                            marked[i][0] = counts[i]
                        elif '"marker":"end"' in frame:
                            marked[i][1] = counts[i]
                            return
                        elif '"price.update"' in frame:
                            counts[i] += 1
                except Exception:
                    dropped[0] += 1

        connected = [0]

        def ws_thread():
            async def all_clients():
                tasks = []
                for i in range(options.clients):
                    tasks.append(asyncio.create_task(client(i)))
                    if i % 50 == 49:
                        await asyncio.sleep(0.2)
                while connected[0] < options.clients:
                    await asyncio.sleep(0.1)
                ready.set()
                await asyncio.gather(*tasks, return_exceptions=True)
            asyncio.run(all_clients())

        threading.Thread(target=ws_thread, daemon=True).start()
        if not ready.wait(120):
            raise SystemExit(f"only {connected[0]} clients connected")
        time.sleep(2)  # every consumer has joined its group
        from markets.models import PriceTick

        while not PriceTick.objects.filter(symbol="XAUUSD").exists():  # predictions need a base price
            time.sleep(0.5)

        # --- predictions and votes --------------------------------------------------------
        latencies = {"create": [], "vote": []}
        errors = {"create": 0, "vote": 0}
        created: list[int] = []

        def load():
            session = requests.Session()
            next_at = time.monotonic()
            while not stop_ws.is_set():
                next_at += options.prediction_every
                verify = datetime.now(UTC) + timedelta(seconds=random.uniform(60, 120))
                t = time.perf_counter()
                r = session.post(f"http://127.0.0.1:{web_ports[0]}/api/predictions/", json={
                    "symbol": "XAUUSD", "question": "Soak: gold in a minute or two?",
                    "verify_time": verify.isoformat(), "options": OPTIONS},
                    headers={"Authorization": f"Token {tokens[0]}"}, timeout=10)
                latencies["create"].append(time.perf_counter() - t)
                if r.status_code != 201:
                    errors["create"] += 1
                else:
                    body = r.json()
                    pid = body.get("id") or body.get("prediction", {}).get("id")
                    created.append(pid)
                    for n, token in enumerate(tokens[1:]):
                        t = time.perf_counter()
                        v = session.post(f"http://127.0.0.1:{web_ports[n % 2]}/api/predictions/{pid}/vote/",
                                         json={"option": random.choice(OPTIONS)["key"]},
                                         headers={"Authorization": f"Token {token}"}, timeout=10)
                        latencies["vote"].append(time.perf_counter() - t)
                        errors["vote"] += v.status_code != 201
                stop_ws.wait(max(0.0, next_at - time.monotonic()))

        rss_start = {}
        started = datetime.now(UTC)
        broadcast_outside_transaction("prices", encode({"type": "price.update", "prices": [], "marker": "start"}))
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        samples = []
        end = time.monotonic() + options.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(30, max(0, end - time.monotonic())))
            samples.append({k: rss_kib(p.pid) for k, p in procs.items()})
            if not rss_start and time.monotonic() > end - options.minutes * 60 + 60:
                rss_start = samples[-1]
        stop_ws.set()
        loader.join(30)
        broadcast_outside_transaction("prices", encode({"type": "price.update", "prices": [], "marker": "end"}))
        ended = datetime.now(UTC)
        time.sleep(3)

        # --- figures -------------------------------------------------------------------------
        print("\n== jobs (runs started in the window)")
        runs = JobRun.objects.filter(started_at__gte=started, started_at__lt=ended)
        for job in ("price_fetcher", "prediction_verifier"):
            mine = runs.filter(job_id=job)
            outcome = {o: mine.filter(outcome=o).count() for o in ("success", "failed", "skipped", "expired")}
            durations = [r.duration_ms for r in mine if r.duration_ms is not None]
            print(f"{job}: {outcome}, duration ms p50 {percentile(durations, 50)} p99 {percentile(durations, 99)}")
            for error in mine.filter(outcome="failed").values_list("error", flat=True)[:3]:
                print(f"  failure: {error[:150]}")
        cycles = runs.filter(job_id="price_fetcher").exclude(outcome__in=("skipped", "expired")).count()
        got = [m[1] - m[0] for m in marked if m[0] is not None and m[1] is not None]
        print("\n== WebSocket delivery (price.update between the start and end markers)")
        print(f"clients with both markers {len(got)}/{options.clients}, dropped connections {dropped[0]}")
        print(f"price cycles run {cycles}; updates per client min {min(got, default=0)} "
              f"median {statistics.median(got) if got else 0} max {max(got, default=0)}")
        print("\n== predictions and votes")
        due = Prediction.objects.filter(pk__in=created, verify_time__lte=ended - timedelta(seconds=70))
        resolved = due.exclude(status=Prediction.Status.ACTIVE).count()
        print(f"created {len(created)} (errors {errors['create']}), votes {len(latencies['vote'])} "
              f"(errors {errors['vote']}); due by the end {due.count()}, resolved {resolved}")
        for kind, values in latencies.items():
            print(f"{kind} latency ms: p50 {percentile(values, 50) * 1000:.1f} "
                  f"p95 {percentile(values, 95) * 1000:.1f} p99 {percentile(values, 99) * 1000:.1f}")
        print("\n== memory (RSS MiB, process with its children; after 1 min, then at the end)")
        for key in procs:
            series = [s[key] / 1024 for s in samples]
            first = rss_start.get(key, samples[0][key]) / 1024
            print(f"{key}: {first:.1f} -> {series[-1]:.1f} (min {min(series):.1f}, max {max(series):.1f})")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # each in its own session: only what we started
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        redis_proc.terminate()
        redis_proc.wait(10)
        quotes.close()


if __name__ == "__main__":
    main()
