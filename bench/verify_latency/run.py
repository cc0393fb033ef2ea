"""How late after its verify_time is an automatic prediction verified, with the real processes?

Starts what production runs: the ASGI web server as the Procfile starts it (uvicorn), one
`qcluster` (price fetcher every 5 s, the 60 s verifier sweep) and a loopback stand-in for the
four quote providers that stamps every answer with the current time. Creates predictions
through the REST API (token auth) with deadlines spread over a few minutes, waits until each
is resolved and prints the lateness `verified_at - verify_time` (p50, p99, max), and how many
were verified by the runs the price fetcher asked for rather than by the sweep (from the
sweep's recorded runs).

    .venv/bin/python bench/verify_latency/run.py                    # 30 predictions over 3 minutes
    .venv/bin/python bench/verify_latency/run.py --predictions 10 --minutes 1

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/gs_deadline_bench,
created if missing, its tables reset) and Redis (REDIS_URL, default redis://127.0.0.1:6379/14;
flushed). Ports: --web-port (8310) and --quote-port (8311).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gs_deadline_bench")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
SYMBOLS = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
OPTIONS = [{"key": "UP", "text": "up or flat", "condition": "price_change_percent >= 0"},
           {"key": "DOWN", "text": "down", "condition": "price_change_percent < 0"}]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


def child_env(quote_base: str) -> dict:
    from tests.markets.factories import BASE_URL_SETTINGS, PROVIDERS

    return {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-only",
            "DJANGO_SETTINGS_MODULE": "goldsocial.settings", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback, no TLS proxy in front.
            "SECURE_SSL_REDIRECT": "false",
            **dict.fromkeys(BASE_URL_SETTINGS, quote_base), "MARKET_DATA_PROVIDERS": ",".join(PROVIDERS),
            # Metals and FX may be closed when the bench runs: poll them anyway (the loopback
            # server always answers), so every symbol's prices flow every 5 s.
            "MARKET_CLOSED_POLL_SECONDS": "1",
            # Loopback is an internal address: let the outbound guard allow it.
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8"}


def prepare(env: dict) -> None:
    import psycopg

    admin, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(admin.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def serve_quotes(port: int):
    """The loopback quote server, in this process (threads): recorded bodies stamped with the current time."""
    import logging

    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    from tests.markets.recorded import QUOTE_PATHS, quote_body

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = HTTPServer(host="127.0.0.1", port=port, threaded=True)
    for path in QUOTE_PATHS:
        server.expect_request(path).respond_with_handler(
            lambda request: Response(quote_body(request.path, now=datetime.now(UTC)), content_type="application/json"))
    server.start()
    return server


def api(method: str, url: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise SystemExit(f"timed out after {timeout} s waiting for {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--web-port", type=int, default=8310)
    parser.add_argument("--quote-port", type=int, default=8311)
    args = parser.parse_args()

    env = child_env(f"http://127.0.0.1:{args.quote_port}")
    prepare(env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE",
                                            "LOG_LEVEL", "ALLOWED_HOSTS")})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from jobs.models import Job, JobRun
    from jobs.services import job_update
    from predictions.models import Prediction

    # No outside hosts: the news fetcher's feeds are real sites.
    job_update(job=Job.objects.get(pk="news_fetcher"), enabled=False, interval_seconds=900)
    user = get_user_model().objects.create_user(username="bench", password="bench-only")  # noqa: S106
    token = Token.objects.create(user=user).key
    connection.close()
    quotes = serve_quotes(args.quote_port)

    web_args = [sys.executable, "-m", "uvicorn", "goldsocial.asgi:application", "--host", "127.0.0.1",
                "--port", str(args.web_port), "--lifespan", "off", "--no-access-log", "--ws", "websockets-sansio",
                "--ws-per-message-deflate", "false"]
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / "verify_latency"
    logs.mkdir(exist_ok=True)
    web_log, cluster_log = open(logs / "web.log", "wb"), open(logs / "qcluster.log", "wb")  # noqa: SIM115
    web = subprocess.Popen(web_args, cwd=ROOT, env={**env, "DB_POOL": "true"}, stdout=web_log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=cluster_log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{args.web_port}"
    try:
        def all_fresh():
            try:
                prices = api("GET", f"{base}/api/prices/", token)["prices"]
            except OSError:
                return False
            return {p["symbol"] for p in prices if not p["stale"]} == set(SYMBOLS)

        wait_for(all_fresh, timeout=90, what="fresh prices of all six symbols through the web server")
        start = datetime.now(UTC) + timedelta(seconds=20)
        spread = args.minutes * 60
        ids = []
        for i in range(args.predictions):
            # Deadlines at arbitrary fractions of a second, not on the 5 s price slots.
            verify_time = start + timedelta(seconds=spread * i / args.predictions + (i * 0.37) % 1)
            created = api("POST", f"{base}/api/predictions/", token, {
                "symbol": SYMBOLS[i % len(SYMBOLS)], "question": f"bench #{i}",
                "verify_time": verify_time.isoformat(), "verification": "auto", "options": OPTIONS})
            ids.append(created["id"])
        print(f"{len(ids)} predictions created through the API, deadlines {start:%H:%M:%S} + 0..{spread:.0f} s "
              f"UTC; waiting for their results")

        last = start + timedelta(seconds=spread)
        timeout = (last - datetime.now(UTC)).total_seconds() + 120

        def resolved():
            done = Prediction.objects.filter(pk__in=ids).exclude(status=Prediction.Status.ACTIVE).count()
            connection.close()
            return done == len(ids)

        wait_for(resolved, timeout=timeout, what="every prediction resolved")
        rows = list(Prediction.objects.filter(pk__in=ids).values(
            "status", "verify_time", "verified_at", "final_price_at", "final_price_basis", "last_attempt_at"))
        sweeps = list(JobRun.objects.filter(job_id="prediction_verifier").values_list("summary", flat=True))
    finally:
        for proc in (cluster, web):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in (cluster, web):
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this bench started
        web_log.close()
        cluster_log.close()
        quotes.stop()

    statuses = {s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}}
    late = [((r["verified_at"] or r["last_attempt_at"]) - r["verify_time"]).total_seconds() for r in rows]
    price_age = [(r["verify_time"] - r["final_price_at"]).total_seconds() for r in rows if r["final_price_at"]]
    # A sweep's summary starts "verified N, void N, ...".
    by_sweep = sum(int(summary.split()[1].rstrip(",")) for summary in sweeps if summary.startswith("verified"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, PostgreSQL {DB_URL.rsplit('/', 1)[1]}, "
          f"Redis {REDIS_URL}, prices every 5 s from the loopback server")
    print(f"results: {statuses}; bases: {sorted({r['final_price_basis'] for r in rows})}")
    print(f"lateness verified_at - verify_time (s): p50 {percentile(late, 50):.2f}  p99 {percentile(late, 99):.2f}  "
          f"max {max(late):.2f}  min {min(late):.2f}")
    print(f"within 10 s: {sum(x <= 10 for x in late)}/{len(late)}")
    if price_age:
        print(f"final price quoted before verify_time (s): p50 {percentile(price_age, 50):.2f}  "
              f"max {max(price_age):.2f}")
    print(f"verified by the runs the price fetcher asked for: {len(rows) - by_sweep}; by the 60 s sweep "
          f"({len(sweeps)} runs): {by_sweep}")
    print(f"logs: {logs}")
    if max(late) > 10 or len(statuses) != 1 or "verified" not in statuses:
        raise SystemExit("NOT met: every prediction verified within 10 s of its verify_time")


if __name__ == "__main__":
    main()
