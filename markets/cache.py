"""The latest prices in the shared cache (Redis): per symbol, a latest and a last-known copy.

The latest copy expires after PRICE_CACHE_TTL_SECONDS (each fetch cycle writes it again); the
last-known copy lives PRICE_LAST_KNOWN_TTL_SECONDS and is shown stale once the latest has gone
(closed market, failing providers). Redis being away is never an error here: a read finds
nothing (callers fall back to the stored history, as after a flush), a write is skipped with
a warning (the ticks are stored already).
"""

import logging
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from redis import RedisError

from markets.models import PriceTick
from markets.price import Price
from markets.trust import Seen

logger = logging.getLogger(__name__)


class Cached(NamedTuple):
    latest: Price | None
    last_known: Price | None


def _latest_key(symbol: str) -> str:
    return f"markets:price:{symbol}"


def _last_known_key(symbol: str) -> str:
    return f"markets:last:{symbol}"


def _stored_key(symbol: str) -> str:
    return f"markets:stored:{symbol}"


def _seen_key(symbol: str) -> str:
    return f"markets:seen:{symbol}"


# Long enough to span a closed weekend: a feed frozen over it is still known frozen after.
SEEN_TTL_SECONDS = 4 * 24 * 3600


def _encode(price: Price) -> dict:
    return {"symbol": price.symbol, "bid": str(price.bid), "ask": str(price.ask), "mid": str(price.mid),
            "timestamp": price.timestamp.isoformat(), "source": price.source}


def _decode(data: dict | None) -> Price | None:
    if not data:
        return None
    return Price(symbol=data["symbol"], bid=Decimal(data["bid"]), ask=Decimal(data["ask"]),
                 mid=Decimal(data["mid"]), timestamp=datetime.fromisoformat(data["timestamp"]),
                 source=data["source"])


def prices_read(*, symbols: list[str]) -> dict[str, Cached]:
    """(latest, last known) per symbol, in one cache round trip."""
    keys = [key for s in symbols for key in (_latest_key(s), _last_known_key(s))]
    try:
        found = cache.get_many(keys)
    except RedisError as exc:
        logger.warning("latest prices unavailable from the cache: %s", exc)
        found = {}
    return {symbol: Cached(_decode(found.get(_latest_key(symbol))), _decode(found.get(_last_known_key(symbol))))
            for symbol in symbols}


def prices_write(*, prices: list[Price]) -> None:
    """Cache accepted prices as the latest and the last known of their symbols."""
    if not prices:
        return
    data = {price.symbol: _encode(price) for price in prices}
    try:
        cache.set_many({_latest_key(s): v for s, v in data.items()}, timeout=settings.PRICE_CACHE_TTL_SECONDS)
        cache.set_many({_last_known_key(s): v for s, v in data.items()},
                       timeout=settings.PRICE_LAST_KNOWN_TTL_SECONDS)
    except RedisError as exc:
        logger.warning("latest prices not cached: %s", exc)


def stored_read(*, symbols: list[str]) -> dict[str, Price | None] | None:
    """What `stored_write` remembered of each symbol's last stored price: a Price, or None when
    the database had none; symbols not remembered are absent. None when Redis is away."""
    keys = {_stored_key(s): s for s in symbols}
    try:
        found = cache.get_many(list(keys))
    except RedisError:
        return None
    return {symbol: _decode(found[key]) for key, symbol in keys.items() if key in found}


def stored_write(*, prices: dict[str, Price | None]) -> None:
    """Remember each symbol's last stored price (or that it has none) for a cycle's length."""
    try:
        cache.set_many({_stored_key(s): _encode(p) if p else {} for s, p in prices.items()},
                       timeout=settings.PRICE_CACHE_TTL_SECONDS)
    except RedisError as exc:
        logger.warning("stored prices not cached: %s", exc)


def seen_read(*, symbols: list[str]) -> dict[str, dict[str, Seen]] | None:
    """Per symbol, each source's last bid and ask and since when unchanged (markets.trust.Seen).

    In Redis, not in a process: whichever cluster runs the next cycle reads what the last one
    saw. None when Redis is away (the frozen check is then skipped for the cycle).
    """
    keys = {_seen_key(s): s for s in symbols}
    try:
        found = cache.get_many(list(keys))
    except RedisError as exc:
        logger.warning("quote history unavailable from the cache: %s", exc)
        return None
    return {symbol: {source: Seen(bid=Decimal(bid), ask=Decimal(ask), since=datetime.fromisoformat(since))
                     for source, (bid, ask, since) in found.get(key, {}).items()}
            for key, symbol in keys.items()}


def seen_write(*, seen: dict[str, dict[str, Seen]]) -> None:
    data = {_seen_key(symbol): {source: [str(s.bid), str(s.ask), s.since.isoformat()] for source, s in sources.items()}
            for symbol, sources in seen.items()}
    try:
        cache.set_many(data, timeout=SEEN_TTL_SECONDS)
    except RedisError as exc:
        logger.warning("quote history not cached: %s", exc)


# --- disagreements: how many cycles each symbol's sources disagreed (/metrics) -------------

def _disagreements_key(symbol: str) -> str:
    return f"markets:disagreements:{symbol}"


def disagreements_count(*, symbols: list[str]) -> None:
    """Add one to each symbol's count of cycles whose sources disagreed beyond its bound.

    In Redis, not in a process: every cluster adds to the same count and every web process
    reports it. A Prometheus counter: a flushed Redis starts it again from 0, which `rate()`
    reads as a reset.
    """
    try:
        for symbol in symbols:
            key = _disagreements_key(symbol)
            cache.add(key, 0, timeout=None)
            cache.incr(key)
    except (RedisError, ValueError) as exc:  # ValueError: the key expired between add and incr
        logger.warning("disagreements not counted: %s", exc)


def disagreements_read(*, symbols: list[str]) -> dict[str, int] | None:
    """Each symbol's count (0 when never counted); None when Redis is away."""
    keys = {_disagreements_key(s): s for s in symbols}
    try:
        found = cache.get_many(list(keys))
    except RedisError:
        return None
    return {symbol: int(found.get(key, 0)) for key, symbol in keys.items()}


def last_stored_prices(*, symbols: list[str]) -> dict[str, Price]:
    """The last stored tick of each of `symbols`, for those that have one.

    Every WebSocket connect asks for the latest prices: the database's answer (a tick, or
    none) is kept in the cache for PRICE_CACHE_TTL_SECONDS, so a symbol never priced or a
    flushed cache costs one query per symbol that often, not one per connect.
    """
    if not symbols:
        return {}
    remembered = stored_read(symbols=symbols)
    found, learned = {}, {}
    for symbol in symbols:
        if remembered is not None and symbol in remembered:
            price = remembered[symbol]
        else:
            tick = PriceTick.objects.filter(symbol=symbol).order_by("-timestamp").first()
            price = learned[symbol] = Price.from_tick(tick) if tick else None
        if price is not None:
            found[symbol] = price
    if learned and remembered is not None:
        stored_write(prices=learned)
    return found
