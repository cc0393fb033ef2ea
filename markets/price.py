"""The one price type: a provider's quote, the price the trust rules accept, the cached copy."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Price:
    """One price of one symbol at one moment, from provider to cache to API (stored: PriceTick).

    `mid` is a field, not a property: a quote's is halfway between its bid and ask
    (`from_bid_ask`), but an accepted price's is the median of its quotes' mids, which need not
    be halfway between the median bid and ask.
    """

    symbol: str
    bid: Decimal
    ask: Decimal
    mid: Decimal
    # A quote's own time at the provider (the fetch time where the provider gives none); an
    # accepted price's is its oldest quote's.
    timestamp: datetime
    # A provider's name, "median(a,b)", or "simulated".
    source: str

    @classmethod
    def from_bid_ask(cls, *, symbol: str, bid: Decimal, ask: Decimal, timestamp: datetime, source: str) -> "Price":
        """A provider's quote: mid halfway between bid and ask."""
        return cls(symbol=symbol, bid=bid, ask=ask, mid=(bid + ask) / 2, timestamp=timestamp, source=source)

    @classmethod
    def from_tick(cls, tick) -> "Price":
        """The price a stored PriceTick holds."""
        return cls(symbol=tick.symbol, bid=tick.bid, ask=tick.ask, mid=tick.mid, timestamp=tick.timestamp,
                   source=tick.source)
