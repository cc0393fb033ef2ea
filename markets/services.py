"""Writes of the markets app: one price cycle (fetch, judge, store, cache, broadcast), pruning.

A cycle asks every provider for every symbol at once (a thread pool over one pooled HTTP
session), judges the quotes (markets.trust.price_combine), stores the accepted prices in
one INSERT, then after commit writes the cache (markets.cache) and sends one broadcast.
"""

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from redis import RedisError

from goldsocial.timefmt import iso_ms
from markets.breaker import CircuitBreaker
from markets.cache import Cached, disagreements_count, prices_read, prices_write, seen_read, seen_write
from markets.hours import market_is_open
from markets.models import PriceTick
from markets.price import Price, quotes_encode
from markets.providers import Provider, ProviderError
from markets.providers.base import BatchProvider
from markets.selectors import last_stamps, price_items, tick_at_or_before
from markets.trust import Disagreement, Rules, frozen_sources, price_combine, seen_update
from realtime import events
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 60
PRUNE_BATCH = 20_000

# behind: a price was accepted but is stamped at or before the symbol's last stored tick (a
# lagging provider); it is not stored, so "the last tick at or before T" never changes later.
FRESH, CLOSED, FAILED, BEHIND = "fresh", "closed", "failed", "behind"


class PricesUnavailable(Exception):
    """No open market got a price this cycle: the job run is recorded as failed."""


@dataclass
class SymbolResult:
    symbol: str
    status: str
    price: Price | None = None
    problems: list[str] = field(default_factory=list)
    # Sources set aside as frozen (markets.trust.frozen_sources): seconds each was unchanged.
    frozen: dict[str, float] = field(default_factory=dict)
    # Whether the sources disagreed beyond the symbol's agreement bound (no price, or an outlier set aside).
    disagreed: bool = False


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
        parts = [f"{self.count(s)} {s}" for s in (FRESH, CLOSED, FAILED, BEHIND) if self.count(s)]
        text = f"{len(self.results)} prices: {', '.join(parts) or 'none'}"
        for status in (FAILED, BEHIND):
            listed = [f"{r.symbol} ({'; '.join(r.problems) or 'no quote'})" for r in self.results
                      if r.status == status]
            if listed:
                text += f"; {status}: " + ", ".join(listed)
        frozen = [f"{r.symbol} ({', '.join(f'{src} {age:.0f} s' for src, age in sorted(r.frozen.items()))})"
                  for r in self.results if r.frozen]
        if frozen:
            text += "; frozen: " + ", ".join(frozen)
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


def _fetch_one(provider: Provider, symbol: str, *, now: datetime) -> dict[str, Price | ProviderError]:
    return {symbol: provider.fetch(symbol, now=now)}


def quotes_fetch(*, providers: list[Provider], symbols: list[str], now: datetime,
                 breaker: CircuitBreaker, executor: ThreadPoolExecutor) -> Fetched:
    """Ask every provider for each of `symbols` it serves, all requests at once."""
    fetched = Fetched(quotes={s: [] for s in symbols}, problems={s: [] for s in symbols})
    pending: list[tuple[Provider, list[str], Future]] = []
    for provider in providers:
        wanted = [s for s in symbols if s in provider.symbols]
        if not wanted:
            continue
        until = breaker.open_until(provider.name, now=now)
        if until is not None:
            for symbol in wanted:
                fetched.problems[symbol].append(f"{provider.name}: circuit open until {until:%H:%M:%S}")
            continue
        if isinstance(provider, BatchProvider):
            # One request for all its symbols: one answer per symbol still comes back.
            pending.append((provider, wanted, executor.submit(provider.fetch_many, wanted, now=now)))
        else:
            pending.extend((provider, [symbol], executor.submit(_fetch_one, provider, symbol, now=now))
                           for symbol in wanted)

    outcomes: dict[str, list[ProviderError | None]] = {}
    for provider, wanted, future in pending:
        try:
            answers = future.result()
        except ProviderError as exc:
            answers = dict.fromkeys(wanted, exc)
        except Exception as exc:
            # A bug in a parser must cost its quotes, not the cycle.
            logger.exception("%s failed on %s", provider.name, ",".join(wanted))
            answers = dict.fromkeys(wanted, ProviderError(provider.name, f"unexpected {type(exc).__name__}: {exc}"))
        for symbol in wanted:
            answer = answers.get(symbol) or ProviderError(provider.name, f"no answer for {symbol}")
            if isinstance(answer, ProviderError):
                fetched.problems[symbol].append(str(answer))
                outcomes.setdefault(provider.name, []).append(answer)
            else:
                fetched.quotes[symbol].append(answer)
                outcomes.setdefault(provider.name, []).append(None)

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


def _off_hours_set_aside(*, fetched: Fetched, providers: list[Provider], closed: list[str]) -> None:
    """Take out of `fetched` the quotes of closed markets from providers that trade them off hours."""
    for provider in providers:
        for symbol in set(closed) & getattr(provider, "off_hours_symbols", frozenset()):
            kept = [q for q in fetched.quotes[symbol] if q.source != provider.name]
            if len(kept) < len(fetched.quotes[symbol]):
                fetched.quotes[symbol] = kept
                fetched.problems[symbol].append(
                    f"{provider.name}: trades {symbol} while its market is closed: not the market's price")


def _frozen_set_aside(*, fetched: Fetched, symbols: list[str], open_: list[str],
                      now: datetime) -> dict[str, list[tuple[Price, str, float]]]:
    """Remember each source's quotes (Redis); take frozen ones out of `fetched`, with a problem each.

    Per symbol: each frozen quote, the reason, and how many seconds it was unchanged. Only
    where the market is open: a closed market is expected to stand still.
    """
    before = seen_read(symbols=symbols)
    if before is None:
        return {}
    frozen_after = timedelta(seconds=settings.PRICE_FROZEN_SECONDS)
    after, frozen = {}, {}
    for symbol in symbols:
        quotes = fetched.quotes[symbol]
        seen = after[symbol] = seen_update(seen=before.get(symbol, {}), quotes=quotes, now=now)
        if symbol not in open_:
            continue
        found = frozen_sources(seen=seen, now=now, frozen_after=frozen_after)
        moved = ", ".join(sorted(source for source, s in seen.items() if now - s.since < frozen_after))
        frozen[symbol] = [(q, f"frozen (bid and ask unchanged for {found[q.source].total_seconds():.0f} s while "
                              f"{moved} moved)", found[q.source].total_seconds())
                          for q in quotes if q.source in found]
        fetched.quotes[symbol] = [q for q in quotes if q.source not in found]
        fetched.problems[symbol] += [f"{q.source}: {reason}: set aside as stale" for q, reason, _ in frozen[symbol]]
    seen_write(seen=after)
    return {symbol: found for symbol, found in frozen.items() if found}


def prices_cycle(*, now: datetime, providers: list[Provider], symbols: list[str],
                 breaker: CircuitBreaker | None = None, executor: ThreadPoolExecutor | None = None,
                 rules: dict[str, Rules] | None = None) -> CycleResult:
    """One fetch cycle: fetch, judge, store (one INSERT), then cache and broadcast on commit.

    `rules`: per symbol (default: `Rules.from_settings` of each).
    """
    rules = rules or {symbol: Rules.from_settings(symbol) for symbol in symbols}
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
    references = _references(symbols=due, now=now,
                             max_age=max((rules[s].jump_reference_age for s in due), default=timedelta(0)))
    _off_hours_set_aside(fetched=fetched, providers=providers, closed=[s for s in due if s in closed])
    frozen = _frozen_set_aside(fetched=fetched, symbols=due, open_=[s for s in due if s not in closed], now=now)

    results = []
    for symbol in symbols:
        if symbol not in due:
            results.append(SymbolResult(symbol, CLOSED))
            continue
        problems = list(fetched.problems[symbol])
        if not any(symbol in p.symbols for p in providers):
            problems.append("no configured provider serves it")
        price, judged = price_combine(symbol=symbol, quotes=fetched.quotes[symbol],
                                      reference=references.get(symbol), now=now, rules=rules[symbol])
        problems += judged
        frozen_here = frozen.get(symbol, [])
        ages = {q.source: age for q, _, age in frozen_here}
        disagreed = any(isinstance(p, Disagreement) for p in judged)
        if price is not None:
            price = replace(price, set_aside=(*((q, reason) for q, reason, _ in frozen_here), *price.set_aside))
            results.append(SymbolResult(symbol, FRESH, price, problems, ages, disagreed))
        else:
            results.append(SymbolResult(symbol, CLOSED if symbol in closed else FAILED, None, problems, ages,
                                        disagreed))
        if disagreed:
            logger.warning("%s: sources disagree: %s", symbol, "; ".join(problems))
        elif problems:
            logger.info("%s: %s", symbol, "; ".join(problems))

    _behind_set_aside(results)
    disagreements_count(symbols=[r.symbol for r in results if r.disagreed])
    cycle = CycleResult(results)
    prices_store(prices=cycle.prices, now=now, symbols=symbols,
                 unchanged=[r.symbol for r in results if r.status == BEHIND])
    if _prune_due():
        cycle.pruned = price_ticks_prune(now=now)
    if not cycle.prices and cycle.count(FAILED):
        raise PricesUnavailable(cycle.summary())
    return cycle


def _behind_set_aside(results: list[SymbolResult]) -> None:
    """Turn each accepted price stamped at or before its symbol's newest stored tick into BEHIND.

    A provider's clock or cache can lag: a later cycle would then store a tick older than the
    last one, and "the last tick at or before T" (a prediction's final price) could change
    after T had passed. The newest stamps are read from the database, not the cache (a cache
    write that failed after a commit must not open the door). Reading, then inserting in a
    later statement is safe because price cycles never overlap: the price job holds its lease
    (jobs.runner) across the whole cycle, on every cluster.
    """
    fresh = [r for r in results if r.status == FRESH and r.price is not None]
    newest = last_stamps(symbols=[r.symbol for r in fresh])
    for r in fresh:
        assert r.price is not None
        last = newest.get(r.symbol)
        if last is None or r.price.timestamp > last:
            continue
        lagging = sorted({q.source for q in r.price.quotes if q.timestamp <= last}) or [r.price.source]
        problem = (f"{', '.join(lagging)} stamped {iso_ms(r.price.timestamp)}, not after the last stored tick "
                   f"({iso_ms(last)}): not stored")
        # Older than the stored tick: a provider went back in time. The same stamp: a source that
        # updates less often than the cycle runs (gold-api, say), which is normal and would
        # otherwise warn every cycle.
        logger.log(logging.WARNING if r.price.timestamp < last else logging.INFO, "%s: %s", r.symbol, problem)
        r.status, r.price = BEHIND, None
        r.problems.append(problem)


def prices_store(*, prices: list[Price], now: datetime, symbols: list[str], unchanged: Sequence[str] = ()) -> None:
    """Insert the cycle's prices in one statement; after commit: cache, then one broadcast.

    `unchanged`: symbols whose sources answered with nothing newer than the stored tick (BEHIND):
    their last known price is cached as the latest again, so it is not shown stale before
    PRICE_STALENESS_SECONDS only because no newer one came.
    """
    fresh = {p.symbol: p for p in prices}
    with transaction.atomic():
        if prices:
            PriceTick.objects.bulk_create([
                PriceTick(symbol=p.symbol, bid=p.bid, ask=p.ask, mid=p.mid, timestamp=p.timestamp, source=p.source,
                          sources=quotes_encode(p), fetched_at=now)
                for p in prices])
        # Cache first, broadcast second: on_commit callbacks run in the order registered, so a
        # client reacting to the update and asking the REST API reads the same prices.
        cached = prices_read(symbols=symbols)
        again: dict[str, Price] = {s: last for s in unchanged if s in cached and (last := cached[s].last_known)}
        transaction.on_commit(lambda: prices_write(prices=[*fresh.values(), *again.values()]))
        current = {}
        for symbol in symbols:
            latest, last = cached.get(symbol, (None, None))
            if symbol in fresh:
                current[symbol] = Cached(fresh[symbol], fresh[symbol])
            elif symbol in again:
                current[symbol] = Cached(again[symbol], again[symbol])
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
