"""One price cycle for six symbols against a local server adding 50 ms per request.

Parallel (the production path: one thread pool, one pooled session) against a sequential
baseline (the same clients, a one-thread pool) in the same run. Prints wall time and CPU
time (this process, all threads; the server is another process) per cycle.

    .venv/bin/python bench/price_cycle/run.py [--cycles 30] [--delay 0.05]

Uses DATABASE_URL / REDIS_URL from the environment (default: a throw-away SQLite file).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# A Wednesday noon: metals and FX open, whatever day the bench runs.
AT = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def setup_django(workdir: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def measure(label, run, cycles, before=None):
    """`run` timed `cycles` times; `before` runs untimed ahead of each."""
    walls, cpus = [], []
    for _ in range(cycles):
        if before is not None:
            before()
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    p90 = walls[int(0.9 * (len(walls) - 1))]
    print(f"{label:<38} wall p50 {statistics.median(walls):7.1f} ms  p90 {p90:7.1f} ms  "
          f"max {walls[-1]:7.1f} ms   CPU {statistics.mean(cpus):6.1f} ms/cycle")
    return statistics.median(walls)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("server.py")), "--delay",
                               str(args.delay), "--at", str(int(AT.timestamp() * 1000))],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        for name in ("SWISSQUOTE", "COINBASE", "KRAKEN", "BITSTAMP", "GOLDAPI"):
            os.environ[f"{name}_BASE_URL"] = base
        with tempfile.TemporaryDirectory() as workdir:
            setup_django(workdir)
            run_bench(args)
    finally:
        server.terminate()
        server.wait()


def seed_predictions(active=10_000, waiting=200) -> str:
    """Active predictions due later, and some past verify_time still waiting for a price (retried by
    the sweep): what the price job's check walks past."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from predictions.models import Prediction

    user = get_user_model().objects.create_user(username="bench-price-cycle")
    rows = [Prediction(creator=user, symbol="XAUUSD", question="q", verify_time=AT + timedelta(seconds=60 + i),
                       created_at=AT, base_price=Decimal("4000"), base_price_at=AT, base_price_source="bench")
            for i in range(active)]
    rows += [Prediction(creator=user, symbol="XAUUSD", question="q", verify_time=AT - timedelta(seconds=60 + i),
                        created_at=AT, base_price=Decimal("4000"), base_price_at=AT, base_price_source="bench",
                        verify_attempts=1, last_attempt_at=AT)
             for i in range(waiting)]
    Prediction.objects.bulk_create(rows, batch_size=2000)
    return f"{active} active predictions due later, {waiting} past verify_time waiting for a price"


def run_bench(args):
    from django.conf import settings
    from django.core.cache import cache

    from markets.models import PriceTick
    from markets.providers import providers_from_settings
    from markets.providers.base import BatchProvider
    from markets.services import CircuitBreaker, prices_cycle, quotes_fetch, shared_executor
    from markets.tasks import fetch_prices

    providers = providers_from_settings()
    symbols = settings.MARKET_SYMBOLS
    # A provider quoting several symbols in one request (Kraken) costs one request.
    requests_per_cycle = sum(min(1, len(set(symbols) & p.symbols)) if isinstance(p, BatchProvider)
                             else len(set(symbols) & p.symbols) for p in providers)
    parallel = shared_executor(settings.MARKET_HTTP_WORKERS)
    sequential = ThreadPoolExecutor(max_workers=1)
    breaker = CircuitBreaker(store=cache, threshold=3, cooldown=__import__("datetime").timedelta(seconds=60))

    def fetch(executor):
        fetched = quotes_fetch(providers=providers, symbols=symbols, now=AT, breaker=breaker, executor=executor)
        assert all(fetched.quotes[s] for s in symbols), fetched.problems

    def cycle(executor):
        result = prices_cycle(now=AT, providers=providers, symbols=symbols, executor=executor)
        assert result.summary() == "6 prices: 6 fresh", result.summary()

    def forget_ticks():
        # Every cycle answers with the same provider times (AT): a tick stamped at or before the
        # last stored one is not stored again, so each timed cycle starts without the last ones.
        PriceTick.objects.all().delete()

    print(f"{len(symbols)} symbols, providers {','.join(settings.MARKET_DATA_PROVIDERS)}: "
          f"{requests_per_cycle} requests per cycle, server delay {args.delay * 1000:.0f} ms per request, "
          f"{args.cycles} cycles each; database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
          f"{os.cpu_count()} CPUs shared with other work")
    for _ in range(3):  # warm up connections, imports, the database file
        forget_ticks()
        cycle(parallel)
        forget_ticks()
        cycle(sequential)
    fetch_par = measure("fetch only, parallel (pool)", lambda: fetch(parallel), args.cycles)
    fetch_seq = measure("fetch only, sequential baseline", lambda: fetch(sequential), args.cycles)
    full_par = measure("full cycle, parallel (production)", lambda: cycle(parallel), args.cycles, forget_ticks)
    full_seq = measure("full cycle, sequential baseline", lambda: cycle(sequential), args.cycles, forget_ticks)
    seeded = seed_predictions()
    job = measure("price job: cycle + verification check", lambda: fetch_prices(now=AT), args.cycles,
                  forget_ticks)
    print(f"  (the price job asks whether a prediction is due after each cycle; {seeded})")
    print(f"speed-up (median wall): fetch {fetch_seq / fetch_par:.1f}x, full cycle {full_seq / full_par:.1f}x; "
          f"target full cycle < 150 ms: {'met' if full_par < 150 else 'NOT met'} ({full_par:.1f} ms; "
          f"price job {job:.1f} ms)")
    print(f"ticks stored by the last cycle: {PriceTick.objects.count()}; sources per FX tick: "
          f"{sorted(PriceTick.objects.filter(symbol='EURUSD').first().sources)}, per BTC tick: "
          f"{sorted(PriceTick.objects.filter(symbol='BTCUSD').first().sources)}")
    PriceTick.objects.all().delete()


if __name__ == "__main__":
    main()
