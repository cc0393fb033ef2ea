"""Writes of the markets app: one price cycle (fetch, judge, store, cache, broadcast), pruning.

A cycle asks every provider for every symbol at once (a thread pool over one pooled HTTP
session), judges the quotes (markets.trust.price_combine), stores the accepted prices in
one INSERT, then after commit writes the cache (markets.cache) and sends one broadcast.
"""

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from redis import RedisError

from markets.breaker import CircuitBreaker
from markets.cache import Cached, prices_read, prices_write
from markets.hours import market_is_open
from markets.models import PriceTick
from markets.price import Price
from markets.providers import Provider, ProviderError
from markets.selectors import price_items, tick_at_or_before
from markets.trust import Rules, price_combine
from realtime import events
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 60
PRUNE_BATCH = 20_000

FRESH, CLOSED, FAILED = "fresh", "closed", "failed"


class PricesUnavailable(Exception):
    """No open market got a price this cycle: the job run is recorded as failed."""


@dataclass
class SymbolResult:
    symbol: str
    status: str
    price: Price | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CycleResult:
    results: list[SymbolResult]
    pruned: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def prices(self) -> list[Price]:
        return [r.price for r in self.results if r.price is not None]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in (FRESH, CLOSED, FAILED) if self.count(s)]
        text = f"{len(self.results)} prices: {', '.join(parts) or 'none'}"
        failed = [f"{r.symbol} ({'; '.join(r.problems) or 'no quote'})" for r in self.results
                  if r.status == FAILED]
        if failed:
            text += "; failed: " + ", ".join(failed)
        if self.pruned:
            text += f"; pruned {self.pruned} old ticks"
        return text[:1000]


# --- fetching ------------------------------------------------------------------------------

_executor_lock = threading.Lock()
_executors: dict[tuple[int, int], ThreadPoolExecutor] = {}


def shared_executor(workers: int) -> ThreadPoolExecutor:
    """One thread pool per process (threads do not survive django-q2's fork)."""
    key = (os.getpid(), workers)
    with _executor_lock:
        if key not in _executors:
            _executors[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quotes")
        return _executors[key]


@dataclass
class Fetched:
    quotes: dict[str, list[Price]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def quotes_fetch(*, providers: list[Provider], symbols: list[str], now: datetime,
                 breaker: CircuitBreaker, executor: ThreadPoolExecutor) -> Fetched:
    """Ask every provider for each of `symbols` it serves, all requests at once."""
    fetched = Fetched(quotes={s: [] for s in symbols}, problems={s: [] for s in symbols})
    pending: list[tuple[Provider, str, Future]] = []
    for provider in providers:
        wanted = [s for s in symbols if s in provider.symbols]
        if not wanted:
            continue
        until = breaker.open_until(provider.name, now=now)
        if until is not None:
            for symbol in wanted:
                fetched.problems[symbol].append(f"{provider.name}: circuit open until {until:%H:%M:%S}")
            continue
        for symbol in wanted:
            pending.append((provider, symbol, executor.submit(provider.fetch, symbol, now=now)))

    outcomes: dict[str, list[ProviderError | None]] = {}
    for provider, symbol, future in pending:
        try:
            fetched.quotes[symbol].append(future.result())
            outcomes.setdefault(provider.name, []).append(None)
        except ProviderError as exc:
            fetched.problems[symbol].append(str(exc))
            outcomes.setdefault(provider.name, []).append(exc)
        except Exception as exc:
            # A bug in a parser must cost one quote, not the cycle.
            logger.exception("%s failed on %s", provider.name, symbol)
            error = ProviderError(provider.name, f"unexpected {type(exc).__name__}: {exc}")
            fetched.problems[symbol].append(str(error))
            outcomes.setdefault(provider.name, []).append(error)

    for name, results in outcomes.items():
        errors = [e for e in results if e is not None]
        retry_after = [e.retry_after for e in errors if e.retry_after is not None]
        # A rate limit is on us, not on one instrument: a Retry-After holds off the whole
        # provider even when its other requests of the cycle got through.
        if len(errors) < len(results) and not retry_after:
            breaker.record_success(name)
            continue
        state = breaker.record_failure(name, now=now, permanent=all(e.permanent for e in errors),
                                       retry_after=max(retry_after) if retry_after else None)
        if state.open_until and state.open_until > now:
            logger.warning("%s: circuit open until %s after %d failed cycles (%s)",
                           name, state.open_until.isoformat(), state.failures, errors[0])
    return fetched


# --- the cycle -------------------------------------------------------------------------------

def _closed_poll_due(symbol: str) -> bool:
    # cache.add succeeds for one caller per period: the closed market's rare poll.
    try:
        return cache.add(f"markets:closed-poll:{symbol}", 1, timeout=settings.MARKET_CLOSED_POLL_SECONDS)
    except RedisError:
        return True  # Redis away: no throttle, poll (a few extra requests while it lasts)


def _references(*, symbols: list[str], now: datetime, max_age: timedelta) -> dict[str, Price]:
    """The last accepted price per symbol, from the cache, else from history."""
    cached = prices_read(symbols=symbols)
    references = {}
    for symbol in symbols:
        latest, last = cached.get(symbol, (None, None))
        price = latest or last
        if price is None:
            tick = tick_at_or_before(symbol=symbol, at=now, max_age=max_age)
            price = Price.from_tick(tick) if tick else None
        if price is not None:
            references[symbol] = price
    return references


def prices_cycle(*, now: datetime, providers: list[Provider], symbols: list[str],
                 breaker: CircuitBreaker | None = None, executor: ThreadPoolExecutor | None = None,
                 rules: Rules | None = None) -> CycleResult:
    """One fetch cycle: fetch, judge, store (one INSERT), then cache and broadcast on commit."""
    rules = rules or Rules.from_settings()
    breaker = breaker or CircuitBreaker(store=cache, threshold=settings.MARKET_BREAKER_FAILURES,
                                        cooldown=timedelta(seconds=settings.MARKET_BREAKER_COOLDOWN_SECONDS))
    executor = executor or shared_executor(settings.MARKET_HTTP_WORKERS)

    closed = set()
    for symbol in symbols:
        serving = [p for p in providers if symbol in p.symbols]
        if not market_is_open(symbol=symbol, at=now) and any(p.follows_market_hours for p in serving):
            closed.add(symbol)
    due = [s for s in symbols if s not in closed or _closed_poll_due(s)]

    fetched = quotes_fetch(providers=providers, symbols=due, now=now, breaker=breaker, executor=executor)
    references = _references(symbols=due, now=now, max_age=rules.jump_reference_age)

    results = []
    for symbol in symbols:
        if symbol not in due:
            results.append(SymbolResult(symbol, CLOSED))
            continue
        problems = list(fetched.problems[symbol])
        if not any(symbol in p.symbols for p in providers):
            problems.append("no configured provider serves it")
        price, judged = price_combine(symbol=symbol, quotes=fetched.quotes[symbol],
                                      reference=references.get(symbol), now=now, rules=rules)
        problems += judged
        if price is not None:
            results.append(SymbolResult(symbol, FRESH, price, problems))
        else:
            results.append(SymbolResult(symbol, CLOSED if symbol in closed else FAILED, None, problems))
        if problems:
            logger.info("%s: %s", symbol, "; ".join(problems))

    cycle = CycleResult(results)
    prices_store(prices=cycle.prices, now=now, symbols=symbols)
    if _prune_due():
        cycle.pruned = price_ticks_prune(now=now)
    if not cycle.prices and cycle.count(FAILED):
        raise PricesUnavailable(cycle.summary())
    return cycle


def prices_store(*, prices: list[Price], now: datetime, symbols: list[str]) -> None:
    """Insert the cycle's prices in one statement; after commit: cache, then one broadcast."""
    fresh = {p.symbol: p for p in prices}
    with transaction.atomic():
        if prices:
            PriceTick.objects.bulk_create([PriceTick(**asdict(p), fetched_at=now) for p in prices])
        # Cache first, broadcast second: on_commit callbacks run in the order registered, so a
        # client reacting to the update and asking the REST API reads the same prices.
        transaction.on_commit(lambda: prices_write(prices=list(fresh.values())))
        cached = prices_read(symbols=symbols)
        current = {}
        for symbol in symbols:
            latest, last = cached.get(symbol, (None, None))
            if symbol in fresh:
                current[symbol] = Cached(fresh[symbol], fresh[symbol])
            elif latest or last:
                current[symbol] = Cached(latest, last)
        broadcast_on_commit(events.PRICES, events.price_update(price_items(entries=current, symbols=symbols, now=now)))


def _prune_due() -> bool:
    try:
        return cache.add("markets:prune", 1, timeout=PRUNE_EVERY_SECONDS)
    except RedisError:
        return False  # Redis away: pruning can wait; several workers must not all prune


def price_ticks_prune(*, now: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete ticks older than the retention horizon, at most `batch` per symbol per call.

    Per symbol so each DELETE walks the (symbol, timestamp) index; bounded so that a backlog
    (a shortened retention) is worked off over several cycles instead of stalling one.
    """
    horizon = now - timedelta(days=settings.PRICE_HISTORY_RETENTION_DAYS)
    deleted = 0
    for symbol in settings.SYMBOLS_ALL:
        old = PriceTick.objects.filter(symbol=symbol, timestamp__lt=horizon).order_by("timestamp")
        count, _ = PriceTick.objects.filter(pk__in=Subquery(old.values("pk")[:batch])).delete()
        deleted += count
    return deleted
