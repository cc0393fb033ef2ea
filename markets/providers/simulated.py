"""The demo feed: a random walk from realistic levels, every quote labelled "simulated".

The walk's position lives in the shared cache (Redis), not in the process, because
successive cycles run in different django-q2 worker processes: a per-process walk would
jump between workers' positions.
"""

import math
import random
from datetime import datetime
from decimal import Decimal

from markets.price import Price

# symbol: (level, volatility per 5 s step, spread, decimal places). Levels of late 2026.
LEVELS = {
    "XAUUSD": (4150.0, 1.2e-4, 0.30, 2),
    "XAGUSD": (50.0, 2.0e-4, 0.02, 3),
    "EURUSD": (1.16, 6.0e-5, 0.00008, 5),
    "GBPUSD": (1.33, 6.0e-5, 0.00010, 5),
    "USDJPY": (155.0, 6.0e-5, 0.010, 3),
    "BTCUSD": (84000.0, 4.0e-4, 1.00, 2),
}
# Pull back towards the level so a demo left running for days stays realistic.
REVERSION = 0.002


class SimulatedClient:
    name = "simulated"
    symbols = frozenset(LEVELS)
    # A demo on a Saturday should still move.
    follows_market_hours = False

    def __init__(self, *, store, rng: random.Random | None = None):
        self.store = store
        self.rng = rng or random.Random()  # noqa: S311 - a demo walk, not a secret

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        level, volatility, spread, places = LEVELS[symbol]
        key = f"markets:simulated:{symbol}"
        position = self.store.get(key)
        anchor = math.log(level)
        if position is None:
            position = anchor
        position += REVERSION * (anchor - position) + self.rng.gauss(0.0, volatility)
        self.store.set(key, position, timeout=None)
        mid = math.exp(position)
        quantum = Decimal(1).scaleb(-places)
        bid = Decimal(str(mid - spread / 2)).quantize(quantum)
        ask = Decimal(str(mid + spread / 2)).quantize(quantum)
        return Price.from_bid_ask(source=self.name, symbol=symbol, bid=bid, ask=ask, timestamp=now)
