"""The one price type: a provider's quote, the price the trust rules accept, the cached copy."""

from dataclasses import dataclass
from datetime import datetime, timedelta
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
        quotes = quotes_decode(symbol=tick.symbol, data=tick.sources, at=tick.timestamp)
        return cls(symbol=tick.symbol, bid=tick.bid, ask=tick.ask, mid=tick.mid, timestamp=tick.timestamp,
                   source=tick.source,
                   quotes=tuple(q for q, reason in quotes if not reason),
                   set_aside=tuple((q, reason) for q, reason in quotes if reason))


# --- provenance as stored (PriceTick.sources, and the copies in predictions' audit) ---------
# {"kraken": "1.15614 1.15619 0", "swissquote": "1.1561 1.15622 -137 frozen (...)"}: per
# provider one string: bid and ask as exact decimals, the quote time in milliseconds from the
# tick's own time, then for a quote set aside the reason. One string per provider, not an
# array, and an offset, not an epoch: 40 % fewer bytes in PostgreSQL's jsonb (docs/markets.md
# has the size per million ticks).

def quotes_encode(price: Price) -> dict[str, str]:
    data: dict[str, str] = {}
    for quote, reason in [*((q, None) for q in price.quotes), *price.set_aside]:
        offset = round((quote.timestamp - price.timestamp).total_seconds() * 1000)
        data[quote.source] = f"{quote.bid} {quote.ask} {offset}" + (f" {reason}" if reason else "")
    return data


def quotes_decode(*, symbol: str, data: dict | None, at: datetime) -> tuple[tuple[Price, str | None], ...]:
    """Stored provenance of a price of time `at` as (quote, why it was set aside or None), by provider.

    Ticks stored before provenance was kept have none.
    """
    decoded = []
    for source, item in sorted((data or {}).items()):
        bid, ask, offset, *reason = item.split(" ", 3)
        quote = Price.from_bid_ask(symbol=symbol, source=source, bid=Decimal(bid), ask=Decimal(ask),
                                   timestamp=at + timedelta(milliseconds=int(offset)))
        decoded.append((quote, reason[0] if reason else None))
    return tuple(decoded)
