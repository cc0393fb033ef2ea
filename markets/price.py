"""The one price type: a provider's quote, the price the trust rules accept, the cached copy."""

from dataclasses import dataclass
from datetime import UTC, datetime
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
    # An accepted price's provenance: the providers' quotes it was made from (a quote: none).
    quotes: tuple["Price", ...] = ()
    # ... and the quotes of that cycle set aside by the trust rules, each with the reason.
    set_aside: tuple[tuple["Price", str], ...] = ()

    @classmethod
    def from_bid_ask(cls, *, symbol: str, bid: Decimal, ask: Decimal, timestamp: datetime, source: str) -> "Price":
        """A provider's quote: mid halfway between bid and ask."""
        return cls(symbol=symbol, bid=bid, ask=ask, mid=(bid + ask) / 2, timestamp=timestamp, source=source)

    @classmethod
    def from_tick(cls, tick) -> "Price":
        """The price a stored PriceTick holds, with its quotes."""
        return cls(symbol=tick.symbol, bid=tick.bid, ask=tick.ask, mid=tick.mid, timestamp=tick.timestamp,
                   source=tick.source,
                   quotes=tuple(q for q, reason in quotes_decode(symbol=tick.symbol, data=tick.sources) if not reason),
                   set_aside=tuple((q, reason) for q, reason in quotes_decode(symbol=tick.symbol, data=tick.sources)
                                   if reason))


# --- provenance as stored (PriceTick.sources, and the copies in predictions' audit) ---------
# {"kraken": ["1.15614", "1.15619", 1764072000000], "swissquote": [..., "frozen (...)"]}: per
# provider its bid and ask as exact decimal strings and its quote time in epoch milliseconds;
# a fourth item, the reason, marks a quote set aside. One small JSON object per tick
# (docs/markets.md has its size per million ticks).

def quotes_encode(price: Price) -> dict[str, list]:
    data: dict[str, list] = {}
    for quote, reason in [*((q, None) for q in price.quotes), *price.set_aside]:
        item: list = [str(quote.bid), str(quote.ask), int(quote.timestamp.timestamp() * 1000)]
        data[quote.source] = item if reason is None else [*item, reason]
    return data


def quotes_decode(*, symbol: str, data: dict | None) -> tuple[tuple[Price, str | None], ...]:
    """Stored provenance as (quote, reason it was set aside or None), by provider name.

    Ticks stored before provenance was kept have none.
    """
    decoded = []
    for source, item in sorted((data or {}).items()):
        bid, ask, ms = item[:3]
        quote = Price.from_bid_ask(symbol=symbol, source=source, bid=Decimal(bid), ask=Decimal(ask),
                                   timestamp=datetime.fromtimestamp(ms / 1000, tz=UTC))
        decoded.append((quote, item[3] if len(item) > 3 else None))
    return tuple(decoded)
