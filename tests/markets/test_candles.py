"""GET /api/prices/<symbol>/candles/: candles computed in the database (PostgreSQL and SQLite)."""

from datetime import UTC, datetime, timedelta

import pytest

from markets.models import PriceTick

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday, on a whole hour


@pytest.fixture(autouse=True)
def _symbols(settings, db):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    settings.DEMO_MODE = False


def tick(symbol, at, mid, *, source="swissquote"):
    return PriceTick(symbol=symbol, bid=mid - 1, ask=mid + 1, mid=mid, source=source, timestamp=at, fetched_at=at)


def candles(client, symbol="XAUUSD", **query):
    response = client.get(f"/api/prices/{symbol}/candles/", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_builds_open_high_low_close_and_tick_times_per_interval(client):
    mids = [10, 14, 9, 12, 20, 18]  # 10 s apart: 9:00:00 .. 9:00:50, then 9:01:00 onward
    PriceTick.objects.bulk_create(
        [tick("XAUUSD", T0 + timedelta(seconds=10 * i), m) for i, m in enumerate(mids)]
        + [tick("XAUUSD", T0 + timedelta(minutes=1, seconds=5 * i), m) for i, m in enumerate([30, 25, 27])]
        # Another symbol in the same minutes changes nothing.
        + [tick("BTCUSD", T0 + timedelta(seconds=1), 99_999)])

    body = candles(client, interval="1m", start="2026-11-25T09:00:00Z", end="2026-11-25T09:02:00Z")

    assert body["symbol"] == "XAUUSD" and body["interval"] == "1m"
    assert body["candles"] == [
        {"start": "2026-11-25T09:00:00.000Z", "open": 10.0, "high": 20.0, "low": 9.0, "close": 18.0, "ticks": 6,
         "first_tick_at": "2026-11-25T09:00:00.000Z", "last_tick_at": "2026-11-25T09:00:50.000Z"},
        {"start": "2026-11-25T09:01:00.000Z", "open": 30.0, "high": 30.0, "low": 25.0, "close": 27.0, "ticks": 3,
         "first_tick_at": "2026-11-25T09:01:00.000Z", "last_tick_at": "2026-11-25T09:01:10.000Z"},
    ]


def test_it_aligns_candles_to_the_interval_and_moves_start_back_to_its_candle(client):
    # 09:07 and 09:09 share the candle of 09:05; the one of 09:08 (start) is 09:05's.
    PriceTick.objects.bulk_create([tick("XAUUSD", T0 + timedelta(minutes=m), m) for m in (7, 9, 14)])

    body = candles(client, interval="5m", start="2026-11-25T09:08:00Z", end="2026-11-25T09:20:00Z")

    assert body["start"] == "2026-11-25T09:05:00.000Z"
    assert [(c["start"][11:16], c["open"], c["close"], c["ticks"]) for c in body["candles"]] == [
        ("09:05", 7.0, 9.0, 2), ("09:10", 14.0, 14.0, 1)]


def test_it_makes_a_day_candle_a_utc_day(client):
    PriceTick.objects.bulk_create([tick("BTCUSD", datetime(2026, 11, 25, h, 30, tzinfo=UTC), h) for h in (0, 23)]
                                  + [tick("BTCUSD", datetime(2026, 11, 26, 0, 0, tzinfo=UTC), 50)])

    body = candles(client, "btcusd", interval="1d", start="2026-11-25T12:00:00+02:00", end="2026-11-26T01:00:00Z")

    assert [(c["start"], c["open"], c["close"], c["ticks"]) for c in body["candles"]] == [
        ("2026-11-25T00:00:00.000Z", 0.0, 23.0, 2), ("2026-11-26T00:00:00.000Z", 50.0, 50.0, 1)]


def test_it_keeps_ticks_at_end_and_leaves_out_those_after(client):
    PriceTick.objects.bulk_create([tick("XAUUSD", T0 + timedelta(seconds=s), s) for s in (0, 30, 31)])

    body = candles(client, interval="1m", start="2026-11-25T09:00:00Z", end="2026-11-25T09:00:30Z")

    assert [(c["close"], c["ticks"]) for c in body["candles"]] == [(30.0, 2)]


def test_it_breaks_ties_on_the_timestamp_by_insertion_order(client):
    PriceTick.objects.bulk_create([tick("XAUUSD", T0, 5), tick("XAUUSD", T0, 6), tick("XAUUSD", T0, 4)])

    (candle,) = candles(client, interval="1m", start="2026-11-25T09:00:00Z", end="2026-11-25T09:00:59Z")["candles"]

    assert (candle["open"], candle["close"], candle["high"], candle["low"]) == (5.0, 4.0, 6.0, 4.0)


def test_it_leaves_out_simulated_ticks_outside_demo_mode_only(client, settings):
    PriceTick.objects.bulk_create([tick("XAUUSD", T0, 10),
                                   tick("XAUUSD", T0 + timedelta(seconds=5), 500, source="simulated"),
                                   tick("XAUUSD", T0 + timedelta(seconds=10), 11)])
    query = {"interval": "1m", "start": "2026-11-25T09:00:00Z", "end": "2026-11-25T09:01:00Z"}

    (candle,) = candles(client, **query)["candles"]
    assert (candle["high"], candle["ticks"]) == (11.0, 2)

    settings.DEMO_MODE = True
    (candle,) = candles(client, **query)["candles"]
    assert (candle["high"], candle["ticks"]) == (500.0, 3)


def test_it_defaults_to_the_last_hour_of_minutes_and_skips_empty_ones(client):
    from django.utils import timezone

    now = timezone.now()
    PriceTick.objects.bulk_create([tick("XAUUSD", now - timedelta(minutes=m), m) for m in (90, 30, 1)])

    body = candles(client, interval="1m")

    assert [c["open"] for c in body["candles"]] == [30.0, 1.0]
    assert body["end"] <= timezone.now().isoformat()


def test_it_answers_at_most_1000_candles_and_refuses_more(client):
    assert candles(client, interval="1m", start="2026-11-25T00:00:00Z", end="2026-11-25T16:39:59Z")["candles"] == []

    response = client.get("/api/prices/XAUUSD/candles/",
                          {"interval": "1m", "start": "2026-11-25T00:00:00Z", "end": "2026-11-25T16:40:00Z"})

    assert response.status_code == 400
    assert "1001 candles" in response.json()["start"]


@pytest.mark.parametrize(("query", "field", "says"), [
    ({}, "interval", "required"),
    ({"interval": "2m"}, "interval", "'2m' is unknown"),
    ({"interval": "1M"}, "interval", "one of 1m, 5m, 15m, 1h, 1d"),
    ({"interval": "1m", "start": "yesterday"}, "start", "ISO-8601"),
    ({"interval": "1m", "end": "2026-13-01T00:00:00Z"}, "end", "ISO-8601"),
    ({"interval": "1m", "start": "2026-11-25T12:00:00Z", "end": "2026-11-25T11:00:00Z"}, "start", "after end"),
    ({"interval": "1d", "end": "0001-01-01T00:00:00Z"}, "start", "too early"),
    ({"interval": ""}, "interval", "required"),
    ({"interval": "1h", "start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "start", "at most 1000"),
])
def test_it_answers_400_naming_the_bad_field(client, query, field, says):
    response = client.get("/api/prices/XAUUSD/candles/", query)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert says in response.json()[field]


def test_it_answers_404_for_an_unknown_symbol(client):
    response = client.get("/api/prices/DOGEUSD/candles/", {"interval": "1m"})

    assert response.status_code == 404
    assert "XAUUSD" in response.json()["detail"]


def expected_candles(symbol, seconds, start, end):
    """Candles computed in Python from the raw ticks: what the roll-ups must add up to."""
    found = {}
    ticks = PriceTick.objects.filter(symbol=symbol, timestamp__gte=start, timestamp__lte=end).exclude(
        source="simulated").order_by("timestamp", "id")
    for t in ticks:
        key = int(t.timestamp.timestamp()) // seconds * seconds
        c = found.setdefault(key, {"open": float(t.mid), "high": float(t.mid), "low": float(t.mid), "ticks": 0,
                                   "first": t.timestamp})
        c.update(high=max(c["high"], float(t.mid)), low=min(c["low"], float(t.mid)), close=float(t.mid),
                 ticks=c["ticks"] + 1, last=t.timestamp)
    return [(datetime.fromtimestamp(k, tz=UTC).isoformat().replace("+00:00", ".000Z"), c["open"], c["high"], c["low"],
             c["close"], c["ticks"]) for k, c in sorted(found.items())]


def shown(client, interval, start, end):
    body = candles(client, interval=interval, start=start.isoformat(), end=end.isoformat())
    return [(c["start"], c["open"], c["high"], c["low"], c["close"], c["ticks"]) for c in body["candles"]]


def test_it_agrees_with_the_raw_ticks_however_they_were_written_changed_or_pruned(client):
    import random

    rng = random.Random(7)
    rows = [tick("XAUUSD", T0 + timedelta(seconds=rng.randrange(0, 1800)), rng.randrange(100, 200),
                 source=rng.choice(["swissquote", "median(swissquote,goldapi)", "simulated"])) for _ in range(400)]
    # Some in bulk (one statement), some one by one, some in a later statement for the same minutes.
    PriceTick.objects.bulk_create(rows[:200])
    for row in rows[200:260]:
        row.save()
    PriceTick.objects.bulk_create(rows[260:])
    end = T0 + timedelta(minutes=29, seconds=31)  # inside a minute: its later ticks must not count

    def check():
        for interval, seconds in (("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600)):
            assert shown(client, interval, T0, end) == expected_candles("XAUUSD", seconds, T0, end), interval

    check()
    # An edit (admin) and a prune (a range delete) recompute the minutes they touched.
    PriceTick.objects.filter(pk=rows[10].pk).update(mid=999)
    PriceTick.objects.filter(pk__in=[r.pk for r in rows[20:30]]).update(timestamp=T0 + timedelta(minutes=3))
    check()
    PriceTick.objects.filter(timestamp__lt=T0 + timedelta(minutes=7, seconds=30)).delete()
    PriceTick.objects.filter(pk=rows[300].pk).delete()
    check()


def test_its_migration_rolls_up_the_ticks_stored_before_it(client):
    import importlib

    from django.db import connection

    from markets.models import PriceCandle

    migration = importlib.import_module("markets.migrations.0003_candles")
    PriceTick.objects.bulk_create([tick("XAUUSD", T0 + timedelta(seconds=s), s % 17) for s in range(0, 600, 7)]
                                  + [tick("XAUUSD", T0 + timedelta(seconds=14), 50, source="goldapi")])
    before = shown(client, "1m", T0, T0 + timedelta(minutes=10))
    PriceCandle.objects.all().delete()
    assert shown(client, "1m", T0, T0 + timedelta(minutes=10)) == []

    backfill = (migration.PG_SQL if connection.vendor == "postgresql" else migration.SQLITE_SQL)[-1]
    with connection.cursor() as cursor:
        cursor.execute(backfill)

    assert shown(client, "1m", T0, T0 + timedelta(minutes=10)) == before == expected_candles(
        "XAUUSD", 60, T0, T0 + timedelta(minutes=10))


@pytest.mark.postgres  # TRUNCATE is PostgreSQL's (SQLite's DELETE fires the row triggers)
def test_it_forgets_the_candles_of_truncated_ticks(client):
    from django.db import connection

    for statement in ("TRUNCATE markets_pricetick", "TRUNCATE markets_pricetick, markets_pricecandle"):  # flush's
        PriceTick.objects.bulk_create([tick("XAUUSD", T0, 10)])
        with connection.cursor() as cursor:
            cursor.execute(statement)

        assert shown(client, "1m", T0, T0 + timedelta(minutes=1)) == []
