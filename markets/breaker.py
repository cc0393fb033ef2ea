"""A circuit breaker per provider, kept in the shared cache.

In the cache (Redis), not in the process, because consecutive cycles run in different
django-q2 workers and on several machines: a per-process breaker would need N times the
failures to open and would forget a 429's Retry-After on the next worker.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import RedisError

logger = logging.getLogger(__name__)

# Long enough to outlive any cooldown; the state is small.
STATE_TTL_SECONDS = 24 * 3600


@dataclass
class BreakerState:
    failures: int = 0
    open_until: datetime | None = None


class CircuitBreaker:
    """Opens after `threshold` consecutive failed cycles of a provider, or at once on a 429
    (for its Retry-After) or when every request failed permanently; closes on a success.
    After the cooldown one cycle is let through (half-open): a failure re-opens it."""

    def __init__(self, *, store, threshold: int, cooldown: timedelta):
        self.store = store
        self.threshold = threshold
        self.cooldown = cooldown

    def _key(self, provider: str) -> str:
        return f"markets:breaker:{provider}"

    def state(self, provider: str) -> BreakerState:
        # With Redis away the breaker cannot remember: it stays closed (every provider is
        # asked, as before it ever opened) rather than failing the cycle.
        try:
            raw = self.store.get(self._key(provider))
        except RedisError as exc:
            logger.warning("breaker state of %s unavailable: %s", provider, exc)
            return BreakerState()
        if not raw:
            return BreakerState()
        open_until = datetime.fromisoformat(raw["open_until"]) if raw.get("open_until") else None
        return BreakerState(failures=raw.get("failures", 0), open_until=open_until)

    def _save(self, provider: str, state: BreakerState) -> None:
        try:
            self.store.set(self._key(provider), {
                "failures": state.failures,
                "open_until": state.open_until.isoformat() if state.open_until else None,
            }, timeout=STATE_TTL_SECONDS)
        except RedisError as exc:
            logger.warning("breaker state of %s not saved: %s", provider, exc)

    def open_until(self, provider: str, *, now: datetime) -> datetime | None:
        """When the breaker is open at `now`, until when; otherwise None."""
        until = self.state(provider).open_until
        return until if until is not None and now < until else None

    def record_success(self, provider: str) -> None:
        try:
            if self.store.get(self._key(provider)):
                self.store.delete(self._key(provider))
        except RedisError as exc:
            logger.warning("breaker state of %s not cleared: %s", provider, exc)

    def record_failure(self, provider: str, *, now: datetime, permanent: bool = False,
                       retry_after: float | None = None) -> BreakerState:
        state = self.state(provider)
        state.failures += 1
        if retry_after is not None:
            state.open_until = now + max(timedelta(seconds=retry_after), timedelta(seconds=1))
        elif permanent or state.failures >= self.threshold:
            state.open_until = now + self.cooldown
        self._save(provider, state)
        return state
