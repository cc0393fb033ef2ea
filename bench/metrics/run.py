"""Benchmark of a /metrics scrape on PostgreSQL with large tables.

Builds P predictions (most verified, some void, active, awaiting manual verification or
cancelled), one verification audit per resolved prediction, V votes and a few thousand
articles, server-side (INSERT ... SELECT generate_series: no row crosses the wire), then times
N scrapes of /metrics through Django's test client (the whole view: every collector, the
database and Redis), and each collector alone.

Usage (from the repository root; it wipes the predictions, news and auth tables of that
database and uses the Redis database of REDIS_URL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gs_metrics REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/metrics/run.py [--predictions 100000] [--votes 1000000] [--scrapes 20]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gs_metrics")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("METRICS_TOKEN", "")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from goldsocial.health import _Collectors  # noqa: E402
from predictions.metrics import COUNTS_KEY, prediction_counts_refresh  # noqa: E402

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def build(*, predictions: int, votes: int, users: int, articles: int) -> None:
    sql("TRUNCATE predictions_notification, predictions_verificationaudit, predictions_vote, "
        "predictions_userstats, predictions_pushsubscription, predictions_predictionoption, "
        "predictions_prediction, news_article, auth_user RESTART IDENTITY CASCADE")
    sql("INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) SELECT g, '!', false, 'u' || g, '', '', '', false, true, %s "
        "FROM generate_series(1, %s) g", [NOW, users])
    # Status by id: 90 % verified, 5 % void, 3 % active, 1 % awaiting manual, 1 % cancelled.
    sql("INSERT INTO predictions_prediction (id, creator_id, symbol, question, verification, verify_time, status, "
        "created_at, base_price, base_price_at, base_price_source, final_price_source, verification_note, "
        "verify_attempts, final_price_basis, base_price_sources, base_price_rules) "
        "SELECT g, 1 + g %% %s, 'XAUUSD', 'bench #' || g, 'auto', "
        "%s::timestamptz - (g %% 3600) * interval '1 minute', "
        "CASE WHEN g %% 100 < 90 THEN 'verified' WHEN g %% 100 < 95 THEN 'void' WHEN g %% 100 < 98 THEN 'active' "
        "     WHEN g %% 100 < 99 THEN 'awaiting_manual' ELSE 'cancelled' END, "
        "%s, 2000, %s, 'bench', '', '', 0, '', '{}', '{}' FROM generate_series(1, %s) g",
        [users, NOW, NOW - timedelta(days=3), NOW - timedelta(days=3), predictions])
    sql("INSERT INTO predictions_predictionoption (id, prediction_id, key, text, condition, position) "
        "SELECT (p - 1) * 2 + k + 1, p, chr(65 + k), 'option ' || chr(65 + k), '', k "
        "FROM generate_series(1, %s) p, generate_series(0, 1) k", [predictions])
    sql("INSERT INTO predictions_verificationaudit (prediction_id, kind, at, previous_status, new_status, "
        "previous_option_key, new_option_key, base_price, final_price_source, note, final_price_basis, "
        "base_price_sources, final_price_sources, rules) "
        "SELECT id, CASE status WHEN 'verified' THEN 'automatic' WHEN 'void' THEN 'void' "
        "ELSE 'awaiting_manual' END, %s, 'active', status, '', '', 2000, '', '', '', '{}', '{}', '{}' "
        "FROM predictions_prediction WHERE status IN ('verified', 'void', 'awaiting_manual')", [NOW])
    # Vote j of user u: prediction 1 + (u + j * stride) mod P, distinct for a user.
    per_user = max(1, votes // users)
    stride = max(1, predictions // per_user)
    sql("INSERT INTO predictions_vote (user_id, prediction_id, option_id, created_at, is_correct) "
        "SELECT u, p, (p - 1) * 2 + (u %% 2) + 1, %s, CASE WHEN p %% 100 < 90 THEN u %% 2 = 0 END FROM ("
        "  SELECT u, 1 + (u + j * %s) %% %s AS p FROM generate_series(1, %s) u, generate_series(0, %s) j) t",
        [NOW - timedelta(days=2), stride, predictions, users, per_user - 1])
    sql("INSERT INTO news_article (source_id, guid, canonical_url, url, title, summary, summary_text, category, "
        "categories, published_at, first_seen_at) "
        "SELECT (SELECT MIN(id) FROM news_newssource), 'g' || g, 'https://news.example/' || g, "
        "'https://news.example/' || g, 'Gold article ' || g, '', 'gold', 'markets', '|markets|', "
        "%s::timestamptz - g * interval '1 minute', %s FROM generate_series(1, %s) g", [NOW, NOW, articles])
    for table in ("predictions_prediction", "predictions_predictionoption", "predictions_vote",
                  "predictions_verificationaudit", "news_article", "auth_user"):
        sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # noqa: S608
    sql("VACUUM ANALYZE")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=5_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--no-build", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if connection.vendor != "postgresql":
        sys.exit("run this on PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    if not args.no_build:
        started = time.perf_counter()
        build(predictions=args.predictions, votes=args.votes, users=args.users, articles=args.articles)
        print(f"built {args.predictions:,} predictions, {args.votes:,} votes, {args.articles:,} articles "
              f"in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM predictions_prediction), (SELECT COUNT(*) FROM predictions_vote),"
                       " (SELECT COUNT(*) FROM predictions_verificationaudit)")
        counts = cursor.fetchone()
    print(f"tables: {counts[0]:,} predictions, {counts[1]:,} votes, {counts[2]:,} audits; "
          f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPUs shared")

    client = Client(HTTP_HOST="127.0.0.1")
    # As after a deploy: no counts in the cache yet, so the first scrape takes them (once); from
    # then on the verifier job refreshes them and scrapes only read them.
    cache.delete(COUNTS_KEY)
    first = time.perf_counter()
    response = client.get("/metrics")
    first = (time.perf_counter() - first) * 1000
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(args.scrapes):
        started = time.perf_counter()
        response = client.get("/metrics")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    print(f"/metrics: first scrape (counts taken, process warm-up) {first:.1f} ms; next {args.scrapes}: "
          f"p50 {statistics.median(times):.1f} ms, p99 {percentile(times, 0.99):.1f} ms, max {max(times):.1f} ms "
          f"(target < 50 ms: {'yes' if percentile(times, 0.99) < 50 else 'NO'})")
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        prediction_counts_refresh(now=NOW)
        runs.append((time.perf_counter() - started) * 1000)
    print(f"  the verifier job's count after each run (not part of a scrape): median "
          f"{statistics.median(runs):.1f} ms")
    for function in _Collectors.functions:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            list(function())
            runs.append((time.perf_counter() - started) * 1000)
        print(f"  {function.__module__}.{function.__name__}: median {statistics.median(runs):.1f} ms")
    for line in response.content.decode().splitlines():
        if line.startswith(("goldsocial_predictions", "goldsocial_verifications_total", "goldsocial_news_articles")):
            print("  " + line)


if __name__ == "__main__":
    main()
