"""How precisely does `qcluster` keep a 5 s schedule?

Runs real `qcluster` processes against PostgreSQL and Redis with a trivial 5 s job and reads
the recorded runs (jobs.JobRun) afterwards. Scenarios: one cluster with the project's ticker,
two clusters with the ticker (two machines), and stock django-q2 scheduling for comparison.

    .venv/bin/python bench/schedule_precision/run.py              # 3 min per scenario
    .venv/bin/python bench/schedule_precision/run.py --minutes 1 --stock-minutes 2

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/goldsocial_bench,
created if missing) and Redis (REDIS_URL, default redis://127.0.0.1:6379/9; flushed).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/goldsocial_bench")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
INTERVAL = 5
ENV = {**os.environ, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench",
       "DJANGO_SETTINGS_MODULE": "tests.settings_noop", "NOOP_INTERVAL": str(INTERVAL),
       "PYTHONPATH": str(ROOT), "QCLUSTER_WORKERS": "2", "LOG_LEVEL": "WARNING"}
os.environ.update(ENV)


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[index]


def prepare():
    import psycopg

    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    import django

    django.setup()
    from jobs.models import Job
    from jobs.services import job_update

    for job in Job.objects.exclude(pk="noop"):
        job_update(job=job, enabled=False, interval_seconds=job.interval_seconds)
    noop = Job.objects.get(pk="noop")
    job_update(job=noop, enabled=True, interval_seconds=INTERVAL)


def scenario(label, clusters, seconds, stock=False, broker="redis"):
    from django.db import connection
    from django.utils import timezone

    from jobs.models import Job, JobRun
    from jobs.services import schedule_apply

    JobRun.objects.all().delete()
    schedule_apply(job=Job.objects.get(pk="noop"))
    args = [sys.executable, "manage.py", "qcluster"] + (["--stock-scheduler"] if stock else [])
    procs = [subprocess.Popen(args, cwd=ROOT, env={**ENV, "QCLUSTER_BROKER": broker}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
             for _ in range(clusters)]
    time.sleep(3)  # start-up
    window_start = timezone.now()
    time.sleep(seconds)
    window_end = timezone.now()
    logs = []
    for proc in procs:
        proc.send_signal(2)
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        logs.append(out)
    connection.close()

    runs = list(JobRun.objects.filter(job_id="noop", scheduled_for__gte=window_start,
                                      scheduled_for__lt=window_end).order_by("scheduled_for",
                                                                             "started_at"))
    starts = [run.started_at for run in runs]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    late = [(run.started_at - run.scheduled_for).total_seconds() for run in runs]
    slots = [run.scheduled_for for run in runs]
    duplicates = len(slots) - len(set(slots))
    first_slot = window_start + timedelta(seconds=(-window_start.timestamp()) % INTERVAL)
    expected = int((window_end - first_slot).total_seconds() // INTERVAL) + 1
    if (window_end - first_slot).total_seconds() % INTERVAL == 0:
        expected -= 1
    missed = expected - len(set(slots))
    load = [re.search(r"queries_per_second=([\d.]+) db_ms_per_second=([\d.]+)", out) for out in logs]
    load = [m for m in load if m]
    errors = sum(out.count("Traceback") for out in logs)

    print(f"\n== {label}: {clusters} cluster(s), {broker} broker, {seconds:.0f} s window, {len(runs)} runs")
    if gaps:
        dev = [abs(g - INTERVAL) for g in gaps]
        print(f"gap between starts (s): p50 {percentile(gaps, 50):.3f}  p95 {percentile(gaps, 95):.3f}  "
              f"p99 {percentile(gaps, 99):.3f}  max {max(gaps):.3f}")
        print(f"|gap - {INTERVAL} s| (ms): p50 {percentile(dev, 50) * 1000:.1f}  p99 {percentile(dev, 99) * 1000:.1f}"
              f"  max {max(dev) * 1000:.1f}")
    if late:
        ms = [x * 1000 for x in late]
        print(f"lateness vs slot (ms): p50 {percentile(ms, 50):.1f}  p95 {percentile(ms, 95):.1f}  "
              f"p99 {percentile(ms, 99):.1f}  max {max(ms):.1f}  mean {statistics.mean(ms):.1f}")
    print(f"slots expected {expected}, run {len(set(slots))}, missed {missed}, duplicate runs {duplicates}")
    if load:
        per = ", ".join(f"{float(m.group(1)):.2f} queries/s ({float(m.group(2)):.2f} ms DB/s)" for m in load)
        print(f"scheduler DB load per cluster: {per}")
    else:
        print("scheduler DB load: stock scheduler, one scheduler() pass per 30 s in the guard loop")
    if errors:
        print(f"!! {errors} tracebacks in the cluster logs")
    return {"missed": missed, "duplicates": duplicates}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--stock-minutes", type=float, default=2)
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--orm", action="store_true", help="also with the ORM (PostgreSQL) broker")
    options = parser.parse_args()
    prepare()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, database {DB_URL}, redis {REDIS_URL}")
    scenario("ticker", 1, options.minutes * 60)
    scenario("ticker", 2, options.minutes * 60)
    if options.orm:
        scenario("ticker", 1, options.minutes * 60, broker="orm")
        scenario("ticker", 2, options.minutes * 60, broker="orm")
    if not options.skip_stock:
        scenario("stock django-q2 scheduler", 1, options.stock_minutes * 60, stock=True)


if __name__ == "__main__":
    main()
