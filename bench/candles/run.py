"""Benchmark of the candles endpoint on PostgreSQL: 30 days of 5 s ticks of one symbol as 1 h candles.

1. creates its own database (default gs_charts_bench; it must not exist yet) and migrates it;
2. inserts 518,400 ticks of XAUUSD 5 s apart (INSERT ... SELECT generate_series, server-side)
   plus the same of BTCUSD (the query must pick one symbol out of the index); the triggers
   fill the minute roll-ups (markets.models.PriceCandle) as they do for the price cycle; ANALYZE;
3. times markets.candles.candles_between (the SQL) and the whole view (the request's
   parsing, the SQL, the JSON body) over the 30 days as 720 candles of 1h, --runs times each
   after one warm-up, and prints min, median and max;
4. drops the database, also on failure.

Usage (from the repository root):
    .venv/bin/python bench/candles/run.py [--host 127.0.0.1] [--port 5432] [--database gs_charts_bench] [--runs 20]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
DAYS = 30
STEP_SECONDS = 5


def admin(args, statement):
    with psycopg.connect(host=args.host, port=args.port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(statement)


def timed(runs, fn):
    fn()  # warm-up: plans, caches
    figures = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        figures.append((time.perf_counter() - started) * 1000)
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--database", default="gs_charts_bench")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    admin(args, f'CREATE DATABASE "{args.database}"')
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        admin(args, f'DROP DATABASE "{args.database}" WITH (FORCE)')


def run(args):
    sys.path.insert(0, str(ROOT))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "goldsocial.settings", "SECRET_KEY": "bench-only",
                       "DATABASE_URL": f"postgres://postgres@{args.host}:{args.port}/{args.database}",
                       "DEMO_MODE": "false", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory

    from markets.candles import candles_between
    from markets.views import PriceCandlesView

    call_command("migrate", verbosity=0)
    rows = DAYS * 86400 // STEP_SECONDS
    start = END - timedelta(days=DAYS)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for symbol, base in (("XAUUSD", 2650), ("BTCUSD", 84000)):
            cursor.execute(
                "INSERT INTO markets_pricetick (symbol, bid, ask, mid, timestamp, source, fetched_at) "
                "SELECT %s, m - 0.2, m + 0.2, m, ts, 'swissquote', ts FROM ("
                "  SELECT %s::timestamptz + g * make_interval(secs => %s) AS ts, %s + 20 * sin(g / 500.0) AS m"
                "  FROM generate_series(0, %s - 1) g) t", [symbol, start, STEP_SECONDS, base, rows])
        cursor.execute("ANALYZE markets_pricetick, markets_pricecandle")
        cursor.execute("SELECT count(*) FROM markets_pricetick WHERE symbol = 'XAUUSD'")
        (count,) = cursor.fetchone()
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    print(f"{version.split(',')[0]}; {count:,} ticks of XAUUSD (+ as many of BTCUSD), "
          f"inserted in {time.perf_counter() - started:.1f} s")

    last = END - timedelta(seconds=STEP_SECONDS)
    result = candles_between(symbol="XAUUSD", seconds=3600, start=start, end=last)
    assert len(result) == DAYS * 24 and sum(c.ticks for c in result) == count, len(result)

    request = RequestFactory().get("/api/prices/XAUUSD/candles/", {
        "interval": "1h", "start": start.isoformat(), "end": last.isoformat()})
    view = PriceCandlesView.as_view()

    def through_view():
        response = view(request, symbol="XAUUSD")
        response.render()
        assert response.status_code == 200 and len(response.data["candles"]) == DAYS * 24

    for name, fn in (("SQL (candles_between)", lambda: candles_between(symbol="XAUUSD", seconds=3600,
                                                                       start=start, end=last)),
                     ("whole view (GET .../candles/?interval=1h)", through_view)):
        figures = timed(args.runs, fn)
        print(f"{name}: 720 candles of 1h from {count:,} ticks, {args.runs} runs: "
              f"min {min(figures):.1f} ms, median {statistics.median(figures):.1f} ms, max {max(figures):.1f} ms")


if __name__ == "__main__":
    main()
