"""Bytes that per-tick provenance (PriceTick.sources) costs on PostgreSQL, per million ticks.

Inserts the same N ticks twice into PostgreSQL, once with an empty `sources` (ticks stored
before provenance) and once with two sources each (the FX and metals case: bid, ask and
quote time per provider), then compares the table's size (heap + TOAST, without indexes,
which do not include the column) and the column's own average size (pg_column_size).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/tick_sources/run.py [--ticks 200000]

The database must be a throw-away one: the ticks table is emptied before and after.
"""

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
AT = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def setup_django() -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def fill(n: int, *, with_sources: bool) -> None:
    from markets.models import PriceTick
    from markets.price import Price, quotes_encode

    batch = []
    for i in range(n):
        at = AT + timedelta(seconds=5 * i)
        mid = Decimal("1.15600") + Decimal(i % 500) / 100000
        quotes = (Price.from_bid_ask(symbol="EURUSD", source="kraken", bid=mid - Decimal("0.00003"),
                                     ask=mid + Decimal("0.00002"), timestamp=at),
                  Price.from_bid_ask(symbol="EURUSD", source="swissquote", bid=mid - Decimal("0.00006"),
                                     ask=mid + Decimal("0.00006"), timestamp=at - timedelta(milliseconds=137)))
        price = Price(symbol="EURUSD", bid=mid, ask=mid, mid=mid, timestamp=at, source="median(kraken,swissquote)",
                      quotes=quotes)
        batch.append(PriceTick(symbol="EURUSD", bid=mid, ask=mid, mid=mid, timestamp=at, source=price.source,
                               sources=quotes_encode(price) if with_sources else {}, fetched_at=at))
        if len(batch) == 5000:
            PriceTick.objects.bulk_create(batch)
            batch = []
    PriceTick.objects.bulk_create(batch)


def measure() -> tuple[int, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (FULL, ANALYZE) markets_pricetick")
        cursor.execute("SELECT pg_table_size('markets_pricetick'), "
                       "(SELECT avg(pg_column_size(sources)) FROM markets_pricetick)")
        size, column = cursor.fetchone()
    return size, float(column)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=200_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must point at a throw-away PostgreSQL database")
    setup_django()
    from markets.models import PriceTick
    from markets.price import Price, quotes_encode

    results = {}
    for with_sources in (False, True):
        PriceTick.objects.all().delete()
        fill(args.ticks, with_sources=with_sources)
        results[with_sources] = measure()
    PriceTick.objects.all().delete()
    (empty, empty_col), (full, full_col) = results[False], results[True]
    scale = 1_000_000 / args.ticks
    sample = PriceTick(sources=quotes_encode(Price(
        symbol="EURUSD", bid=Decimal(1), ask=Decimal(1), mid=Decimal(1), timestamp=AT, source="x",
        quotes=(Price.from_bid_ask(symbol="EURUSD", source="kraken", bid=Decimal("1.15613"),
                                   ask=Decimal("1.15618"), timestamp=AT),
                Price.from_bid_ask(symbol="EURUSD", source="swissquote", bid=Decimal("1.1561"),
                                   ask=Decimal("1.15622"), timestamp=AT))))).sources
    print(f"{args.ticks} EURUSD ticks, two sources each, e.g. {sample}")
    print(f"sources column: {full_col:.1f} bytes per tick (empty: {empty_col:.1f})")
    print(f"table (heap + TOAST, no indexes): {empty * scale / 2**20:.1f} MiB per million ticks without provenance, "
          f"{full * scale / 2**20:.1f} MiB with it: +{(full - empty) * scale / 2**20:.1f} MiB per million ticks "
          f"({(full - empty) / args.ticks:.1f} bytes per tick, +{(full - empty) / empty * 100:.0f}%)")


if __name__ == "__main__":
    main()
