"""Benchmark of Web Push delivery: 100,000 notifications, each voter with one subscription.

A loopback push service (bench/webpush/push_service.py, https, its own process) answers
every request after 50 ms; a share of the endpoints answer 410 (the subscription is gone:
deleted) and a share 429 with Retry-After the first time (retried after it). The real
delivery service (predictions.services.delivery.notifications_deliver) runs as the delivery
job does, run after run until nothing is pending, in `--runs-at-once` processes at the same
time (as several cluster workers; their claims keep them from sending anything twice).
WebSocket sends are captured (realtime.broadcast's test hook): this measures Web Push.

Prints: time until every notification is delivered, pushes per second, CPU seconds of the
delivery processes, peak RSS of each, and the 410/429 answers handled.

Usage (from the repository root; it wipes the predictions tables of that database):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gs_delivery REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/webpush/run.py [--notifications 100000] [--concurrency 100] [--runs-at-once 2]
"""

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gs_delivery")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8"
PORT = 8321


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def setup(n: int, gone_every: int, busy_every: int) -> None:
    """n users, one prediction, n pending notifications, one subscription each: server-side SQL."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    key = ec.generate_private_key(ec.SECP256R1())
    p256dh = b64(key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint))
    auth = b64(os.urandom(16))
    with connection.cursor() as c:
        c.execute("TRUNCATE predictions_notificationpush, predictions_notification, predictions_pushsubscription, "
                  "predictions_vote, predictions_verificationaudit, predictions_predictionoption, "
                  "predictions_prediction, predictions_userstats CASCADE")
        c.execute("DELETE FROM auth_user WHERE username LIKE 'wp%%'")
        c.execute("INSERT INTO auth_user (username, password, is_superuser, first_name, last_name, email, is_staff, "
                  "is_active, date_joined) SELECT 'wp' || i, '!', false, '', '', '', false, true, now() "
                  "FROM generate_series(1, %s) i", [n])
        c.execute("INSERT INTO predictions_prediction (creator_id, symbol, question, verification, verify_time, "
                  "status, created_at, base_price, base_price_at, base_price_source, final_price_source, "
                  "verification_note, verify_attempts, final_price_basis, base_price_sources, base_price_rules) "
                  "SELECT min(id), 'XAUUSD', 'bench', 'auto', now(), "
                  "'verified', now(), 2000, now(), 'bench', '', '', 0, '', '{}', '{}' FROM auth_user "
                  "WHERE username LIKE 'wp%%' "
                  "RETURNING id")
        prediction = c.fetchone()[0]
        c.execute(f"INSERT INTO predictions_pushsubscription (user_id, endpoint, p256dh, auth, created_at) "  # noqa: S608
                  f"SELECT u.id, 'https://localhost:{PORT}/push/' || CASE WHEN n %% %s = 0 THEN 'gone/' "
                  f"WHEN n %% %s = 1 THEN 'busy/' ELSE '' END || n, %s, %s, now() "
                  f"FROM (SELECT id, row_number() OVER (ORDER BY id) n FROM auth_user WHERE username LIKE 'wp%%') u",
                  [gone_every, busy_every, p256dh, auth])
        c.execute("INSERT INTO predictions_notification (user_id, prediction_id, kind, is_correct, created_at) "
                  "SELECT id, %s, 'vote_result', true, now() FROM auth_user WHERE username LIKE 'wp%%'",
                  [prediction])
        c.execute("ANALYZE")


def worker(concurrency: int) -> None:
    """One delivery process: runs like the delivery job until nothing is pending; prints its figures."""
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from predictions.models import Notification
    from predictions.services.delivery import notifications_deliver, push_client_from_settings
    from realtime import broadcast

    settings.WEBPUSH_CONCURRENCY = concurrency
    class Discard(list):
        """Stands in for the WebSocket send: kept nothing, so the process's memory is delivery's own."""

        def append(self, item):
            pass

    broadcast._captures.append(Discard())
    totals = {"delivered": 0, "pushed": 0, "push_failed": 0, "removed": 0, "retries": 0, "runs": 0}
    started, cpu = time.perf_counter(), time.process_time()
    with push_client_from_settings() as client:
        while True:
            summary = notifications_deliver(now=timezone.now(), client=client)
            totals["runs"] += 1
            for k, v in (("delivered", summary.notifications), ("pushed", summary.pushed),
                         ("push_failed", summary.push_failed), ("removed", summary.subscriptions_removed),
                         ("retries", summary.retry_later)):
                totals[k] += v
            if not Notification.objects.filter(delivered_at__isnull=True, given_up_at__isnull=True).exists():
                break
            time.sleep(0.5)  # the rest waits for its Retry-After (or for the other process's claims)
    totals.update(seconds=round(time.perf_counter() - started, 2), cpu_seconds=round(time.process_time() - cpu, 2),
                  peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    print(json.dumps(totals), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--runs-at-once", type=int, default=2)
    parser.add_argument("--gone-every", type=int, default=50, help="every n-th endpoint answers 410")
    parser.add_argument("--busy-every", type=int, default=20, help="every n-th endpoint answers 429 once")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.concurrency)
        return

    import django

    django.setup()
    from py_vapid import Vapid

    from tests.tls import server_context

    setup(args.notifications, args.gone_every, args.busy_every)
    tls = Path(tempfile.mkdtemp(prefix="webpush-bench-"))
    server_context(tls)
    key = Vapid()
    key.generate_keys()
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(tls / "ca.pem"), "VAPID_SUBJECT": "mailto:bench@goldsocial.test",
           "VAPID_PRIVATE_KEY": b64(key.private_key.private_numbers().private_value.to_bytes(32, "big")),
           "VAPID_PUBLIC_KEY": "bench"}
    server = subprocess.Popen([sys.executable, str(ROOT / "bench/webpush/push_service.py"), "--port", str(PORT),
                               "--cert", str(tls / "server.pem"), "--key", str(tls / "server.key"),
                               "--delay", "0.05", "--retry-after", "2"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, __file__, "--worker", "--concurrency", str(args.concurrency)],
                                    env=env, stdout=subprocess.PIPE, text=True)
                   for _ in range(args.runs_at_once)]
        results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        served = json.loads(server.communicate()[0].strip().splitlines()[-1])

    from predictions.models import Notification, PushSubscription

    delivered = Notification.objects.filter(delivered_at__isnull=False).count()
    pushes = sum(r["pushed"] for r in results)
    print(f"notifications: {args.notifications}, delivered: {delivered}, in {elapsed:.1f} s "
          f"({args.runs_at_once} delivery processes, WEBPUSH_CONCURRENCY={args.concurrency}, 50 ms per request)")
    print(f"pushes accepted: {pushes} ({pushes / elapsed:.0f}/s); requests served: {served['requests']} "
          f"on {served['connections']} TLS connections")
    print(f"410 answered: {served['410']}, subscriptions removed: {sum(r['removed'] for r in results)}, "
          f"left: {PushSubscription.objects.count()}")
    print(f"429 answered: {served['429']}, retried later: {sum(r['retries'] for r in results)}")
    for i, r in enumerate(results):
        print(f"process {i}: {r['delivered']} delivered in {r['runs']} runs, {r['cpu_seconds']} s CPU, "
              f"peak RSS {r['peak_rss_mb']} MB")
    print(f"accepted twice by one endpoint: {served['duplicates']}")


if __name__ == "__main__":
    main()
