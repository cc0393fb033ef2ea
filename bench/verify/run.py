"""Benchmark of the prediction verifier on PostgreSQL.

Builds N due predictions (4 options each: up a lot, up, flat, down) with V votes from U users,
server-side (INSERT ... SELECT generate_series: no row crosses the wire), then:

1. the naive way on a sample (ORM loop: tick per prediction, save() per vote, get_or_create +
   save() per user statistic), rolled back, scaled to all votes;
2. the real verifier (predictions.services.verification.predictions_verify_due) on everything, timed, in a
   fresh process whose peak RSS is therefore the verifier's own;
3. the same again after a reset, under tracemalloc, for the peak Python heap;
4. steps 1-3 at a tenth of the votes, to show the peak does not grow with the votes.

Usage (from the repository root; it wipes the predictions tables of that database):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gs_predictions \
        .venv/bin/python bench/verify/run.py [--predictions 10000] [--users 100000] \
        [--votes-per-prediction 100] [--naive-sample 100]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gs_predictions")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from markets.selectors import tick_at_or_before  # noqa: E402
from predictions import conditions  # noqa: E402
from predictions.models import Prediction, UserStats, Vote  # noqa: E402
from predictions.outcomes import price_change_percent  # noqa: E402
from predictions.services import verification  # noqa: E402
from realtime import broadcast  # noqa: E402
from tests.predictions.factories import SEED_OPTIONS  # noqa: E402

# A Wednesday, 07:00 in New York: gold trades, so every deadline settles on its own tick.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONDITIONS = [option["condition"] for option in SEED_OPTIONS]


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def build(*, predictions: int, users: int, votes_per_prediction: int) -> None:
    sql("TRUNCATE predictions_notification, predictions_verificationaudit, predictions_vote, "
        "predictions_userstats, predictions_pushsubscription, predictions_predictionoption, "
        "predictions_prediction, markets_pricetick, auth_user RESTART IDENTITY CASCADE")
    sql("INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) SELECT g, '!', false, 'u' || g, '', '', '', false, true, %s "
        "FROM generate_series(1, %s) g", [NOW, users])
    # verify_time spread over the last hour; base 2000; one tick per second with a mid that
    # walks over all four options (-1.5% .. +1.5%).
    sql("INSERT INTO markets_pricetick (symbol, bid, ask, mid, timestamp, source, fetched_at, sources) "
        "SELECT 'XAUUSD', m - 0.1, m + 0.1, m, ts, 'bench', ts, '{}' FROM ("
        "  SELECT %s::timestamptz - g * interval '1 second' AS ts, 2000 + 30 * sin(g / 50.0) AS m "
        "  FROM generate_series(0, 3700) g) t", [NOW])
    sql("INSERT INTO predictions_prediction (id, creator_id, symbol, question, verification, verify_time, status, "
        "created_at, base_price, base_price_at, base_price_source, final_price_source, verification_note, "
        "verify_attempts, final_price_basis, base_price_sources, base_price_rules) "
        "SELECT g, 1 + g %% %s, 'XAUUSD', 'bench #' || g, 'auto', "
        "%s::timestamptz - interval '1 minute' - (g %% 3600) * interval '1 second', 'active', %s, 2000, %s, "
        "'bench', '', '', 0, '', '{}', '{}' FROM generate_series(1, %s) g",
        [users, NOW, NOW - timedelta(days=1), NOW - timedelta(days=1), predictions])
    sql("INSERT INTO predictions_predictionoption (id, prediction_id, key, text, condition, position) "
        "SELECT (p - 1) * 4 + k + 1, p, chr(65 + k), 'option ' || chr(65 + k), (ARRAY[%s, %s, %s, %s])[k + 1], k "
        "FROM generate_series(1, %s) p, generate_series(0, 3) k", [*CONDITIONS, predictions])
    # Vote j of user u is on prediction (u + j * stride) mod N: distinct for a user, and every
    # prediction gets votes_per_prediction votes.
    votes_per_user = predictions * votes_per_prediction // users
    stride = predictions // max(votes_per_user, 1)
    sql("INSERT INTO predictions_vote (user_id, prediction_id, option_id, created_at) "
        "SELECT u, p, (p - 1) * 4 + (u * 7 + j) %% 4 + 1, %s FROM ("
        "  SELECT u, 1 + (u + j * %s) %% %s AS p, j FROM generate_series(1, %s) u, generate_series(0, %s) j) t",
        [NOW - timedelta(hours=12), stride, predictions, users, votes_per_user - 1])
    for table in ("predictions_prediction", "predictions_predictionoption", "predictions_vote", "auth_user"):
        sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # noqa: S608
    sql("VACUUM ANALYZE")


def reset() -> None:
    sql("TRUNCATE predictions_notificationpush, predictions_notification, predictions_verificationaudit, "
        "predictions_userstats")
    sql("UPDATE predictions_prediction SET status = 'active', final_price = NULL, final_price_at = NULL, "
        "final_price_source = '', price_change_percent = NULL, correct_option_id = NULL, resolved_at = NULL, "
        "verified_at = NULL, verify_attempts = 0, last_attempt_at = NULL")
    sql("UPDATE predictions_vote SET is_correct = NULL")
    sql("VACUUM ANALYZE")


def naive(sample: int) -> tuple[float, int]:
    """The ORM loop, inside a transaction that is rolled back; (seconds, votes handled)."""
    staleness = timedelta(seconds=settings.PRICE_STALENESS_SECONDS)
    votes = 0
    started = time.perf_counter()
    with transaction.atomic():
        for prediction in Prediction.objects.filter(status="active").order_by("id")[:sample]:
            tick = tick_at_or_before(symbol=prediction.symbol, at=prediction.verify_time, max_age=staleness)
            change = price_change_percent(base=prediction.base_price, final=tick.mid)
            correct = next(o for o in prediction.options.all()
                           if conditions.evaluate(conditions.parse(o.condition), change))
            prediction.status, prediction.correct_option = "verified", correct
            prediction.final_price, prediction.price_change_percent = tick.mid, change
            prediction.save()
            for vote in prediction.votes.all():
                vote.is_correct = vote.option_id == correct.pk
                vote.save()
                stats, _ = UserStats.objects.get_or_create(user_id=vote.user_id)
                stats.predictions_counted += 1
                stats.correct += vote.is_correct
                stats.current_streak = stats.current_streak + 1 if vote.is_correct else 0
                stats.best_streak = max(stats.best_streak, stats.current_streak)
                stats.save()
                votes += 1
        transaction.set_rollback(True)
    return time.perf_counter() - started, votes


def fast(*, trace: bool) -> tuple[float, int, verification.VerifySummary]:
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    summary = verification.predictions_verify_due(now=NOW)
    elapsed = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed, peak, summary


sent: list = []  # WebSocket sends, captured instead of sent (see main)


def scenario(args, votes_per_prediction: int) -> dict:
    total_votes = args.predictions * votes_per_prediction
    t = time.perf_counter()
    build(predictions=args.predictions, users=args.users, votes_per_prediction=votes_per_prediction)
    print(f"\n== {args.predictions:,} due predictions, {total_votes:,} votes from {args.users:,} users "
          f"(built in {time.perf_counter() - t:.1f} s)")
    naive_s, naive_votes = naive(args.naive_sample)
    naive_total = naive_s * total_votes / naive_votes
    print(f"naive ORM loop: {naive_votes:,} votes in {naive_s:.2f} s -> scaled to {total_votes:,}: "
          f"{naive_total:.0f} s")
    # The timed run is a fresh process, so its peak RSS is the verifier's alone.
    child = subprocess.run([sys.executable, __file__, "--verify-only"], capture_output=True, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    elapsed, rss_mb = result["seconds"], result["max_rss_mb"]
    print(f"verifier: {elapsed:.2f} s ({result['summary']}); verifier process peak RSS {rss_mb:.0f} MB")
    assert result["verified"] + result["void"] == args.predictions, result
    counted = UserStats.objects.aggregate(n=django.db.models.Sum("predictions_counted"))["n"]
    marked = Vote.objects.filter(is_correct__isnull=False).count()
    print(f"check: votes marked {marked:,}, votes counted in statistics {counted:,}")
    reset()
    sent.clear()
    _, peak, _ = fast(trace=True)
    print(f"verifier under tracemalloc: peak Python heap {peak / 2**20:.1f} MB")
    return {"votes": total_votes, "seconds": elapsed, "naive": naive_total, "peak": peak, "rss": rss_mb}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--votes-per-prediction", type=int, default=100)
    parser.add_argument("--naive-sample", type=int, default=100, help="predictions verified the naive way")
    parser.add_argument("--verify-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    if connection.vendor != "postgresql":
        sys.exit("run this on PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    # WebSocket sends and notification delivery happen after commit, outside the verifier's
    # work; capture the sends and count the deliveries instead of doing them.
    broadcast._captures.append(sent)
    deliveries = []
    verification.notify_after_commit = lambda *, prediction_ids: deliveries.append(len(prediction_ids))
    if args.verify_only:
        elapsed, _, summary = fast(trace=False)
        print(json.dumps({"seconds": elapsed, "summary": str(summary), "verified": summary.verified,
                          "void": summary.void,
                          "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, batch size "
          f"{settings.PREDICTION_VERIFY_BATCH_SIZE}, {os.cpu_count()} CPUs shared with other work")

    small = scenario(args, max(1, args.votes_per_prediction // 10))
    full = scenario(args, args.votes_per_prediction)
    print("\n== summary")
    for label, r in (("1/10 votes", small), ("full", full)):
        print(f"{label:>10}: {r['votes']:>9,} votes  verifier {r['seconds']:6.2f} s  naive (scaled) "
              f"{r['naive']:7.0f} s  speed-up {r['naive'] / r['seconds']:5.0f}x  "
              f"peak heap {r['peak'] / 2**20:5.1f} MB  peak RSS {r['rss']:4.0f} MB")
    print(f"peak heap ratio full / tenth: {full['peak'] / small['peak']:.2f} (votes ratio "
          f"{full['votes'] / small['votes']:.0f})")
    print(f"targets: all in < 20 s: {'yes' if full['seconds'] < 20 else 'NO'}; >= 50x naive: "
          f"{'yes' if full['naive'] / full['seconds'] >= 50 else 'NO'}")
    print(f"(WebSocket sends are captured, not sent: {len(sent):,} in the last run; notification delivery is "
          f"counted, not run: {sum(deliveries):,} predictions handed over in the traced runs)")


if __name__ == "__main__":
    main()
