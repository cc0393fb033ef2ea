"""Candles of a symbol's trustworthy ticks (/api/prices/<symbol>/candles/), in one SQL statement.

The tables are the models' (`PriceCandle`, the minute roll-ups kept by the triggers of
markets/migrations/0003_candles.py, and `PriceTick`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import FullResultSet
from django.db import connection

from markets.models import PriceCandle, PriceTick
from markets.selectors import stored_moment
from markets.trust import trustworthy_ticks

# Candle intervals a client may ask for, in seconds. Buckets start at multiples of the
# interval since 1970-01-01 UTC, so a 1d candle is a UTC day and two clients agree on edges.
CANDLE_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}

# One statement over the minute roll-ups (markets.models.PriceCandle, kept by triggers) for
# the whole minutes of the range, plus the raw ticks of the minute that holds `end` (only
# those up to `end` count). Each part is a small candle; a bucket's open is the open of its
# earliest part and its close the close of its latest (ties on the timestamp broken by id).
# 30 days of 5 s ticks as 1 h candles reads 43,200 roll-ups instead of 518,400 ticks.
_PARTS_SQL = """
WITH parts AS (
    SELECT start AS at, open, high, low, close, ticks, first_tick_at, last_tick_at, first_tick_id, last_tick_id
    FROM {candle_table}
    WHERE symbol = %s AND start >= %s AND start < %s{trust_candle}
    UNION ALL
    SELECT timestamp, mid, mid, mid, mid, 1, timestamp, timestamp, id, id
    FROM {tick_table}
    WHERE symbol = %s AND timestamp >= %s AND timestamp <= %s{trust_tick}
)"""
# PostgreSQL: one hash aggregate, no sort of the parts: the min (max) of the arrays
# [first (last) tick time, its id, price] is compared element by element, so its third element
# is the price of the earliest (latest) part.
_PG_CANDLES = """
SELECT date_bin(make_interval(secs => %s), at, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
       (MIN(ARRAY[EXTRACT(EPOCH FROM first_tick_at), first_tick_id, open]))[3], MAX(high), MIN(low),
       (MAX(ARRAY[EXTRACT(EPOCH FROM last_tick_at), last_tick_id, close]))[3],
       SUM(ticks), MIN(first_tick_at), MAX(last_tick_at)
FROM parts
GROUP BY 1
ORDER BY 1
"""
# SQLite (3.25+ for window functions, 3.38+ for unixepoch): the first and last part by rank.
_SQLITE_CANDLES = """,
bucketed AS (SELECT (unixepoch(at) / %s) * %s AS bucket, parts.* FROM parts),
ranked AS (
    SELECT bucketed.*,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY first_tick_at, first_tick_id) AS first_rank,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY last_tick_at DESC, last_tick_id DESC) AS last_rank
    FROM bucketed
)
SELECT bucket, MAX(CASE WHEN first_rank = 1 THEN open END), MAX(high), MIN(low),
       MAX(CASE WHEN last_rank = 1 THEN close END), SUM(ticks), MIN(first_tick_at), MAX(last_tick_at)
FROM ranked
GROUP BY bucket
ORDER BY bucket
"""
_CANDLES_SQL = {"postgresql": _PARTS_SQL + _PG_CANDLES, "sqlite": _PARTS_SQL + _SQLITE_CANDLES}


@dataclass(frozen=True)
class Candle:
    start: datetime
    open: Decimal | float
    high: Decimal | float
    low: Decimal | float
    close: Decimal | float
    ticks: int
    first_tick_at: datetime
    last_tick_at: datetime


def candle_start(moment: datetime, *, seconds: int) -> datetime:
    """The start of the bucket of `seconds` that holds `moment` (aware, UTC)."""
    epoch = int(moment.timestamp() // seconds) * seconds
    return datetime.fromtimestamp(epoch, tz=UTC)


def candles_between(*, symbol: str, seconds: int, start: datetime, end: datetime) -> list[Candle]:
    """Candles of `symbol`'s trustworthy ticks with start <= timestamp <= end, oldest first.

    `start` must be a whole minute. Buckets without a tick are left out. The caller bounds the
    number of buckets; the database does the work (PostgreSQL `date_bin`, SQLite integer
    division of unixepoch).
    """
    bucket_params = [seconds] if connection.vendor == "postgresql" else [seconds, seconds]
    trust_candle, candle_params = _trusted_sql(PriceCandle)
    trust_tick, tick_params = _trusted_sql(PriceTick)
    sql = _CANDLES_SQL[connection.vendor].format(candle_table=PriceCandle._meta.db_table, trust_candle=trust_candle,
                                                tick_table=PriceTick._meta.db_table, trust_tick=trust_tick)
    last_minute = candle_start(end, seconds=60)
    adapt = connection.ops.adapt_datetimefield_value
    params = [symbol, adapt(start), adapt(last_minute), *candle_params,
              symbol, adapt(max(start, last_minute)), adapt(end), *tick_params, *bucket_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Candle(start=stored_moment(bucket_at), open=open_, high=high, low=low, close=close, ticks=int(ticks),
                   first_tick_at=stored_moment(first_at), last_tick_at=stored_moment(last_at))
            for bucket_at, open_, high, low, close, ticks, first_at, last_at in rows]


def _trusted_sql(model: type[PriceTick] | type[PriceCandle]) -> tuple[str, list]:
    """markets.trust's rule for stored ticks as SQL on `model`'s table: a chart shows only the
    prices a prediction may be judged on (no simulated price outside demo mode)."""
    query = model.objects.filter(trustworthy_ticks()).query
    try:
        where, params = query.get_compiler(connection=connection).compile(query.where)
    except FullResultSet:
        return "", []
    return (f" AND {where}", list(params)) if where else ("", [])
