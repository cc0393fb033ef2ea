"""Which prices to trust: the rules for a cycle's quotes, and for stored ticks.

No database, no cache, no clock: `now` and the bounds are arguments (settings are read only
for defaults: `Rules.from_settings`, DEMO_MODE). The fetch cycle (markets.services) judges each
symbol's quotes with `price_combine`; the predictions app asks `tick_is_trustworthy` (one tick)
or filters with `trustworthy_ticks` (a queryset) whether a stored tick may be a prediction's
price.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from markets.price import Price

if TYPE_CHECKING:
    from markets.models import PriceTick

# A provider clock a few seconds ahead of ours is normal; further ahead is a wrong clock, and
# a tick "from the future" would be found by "the last tick at or before T" too early.
FUTURE_TOLERANCE = timedelta(seconds=5)
# The column holds 12 integer digits; a larger "price" is garbage and would fail the insert.
MAX_PRICE = Decimal(10) ** 11
QUANTUM = Decimal("0.00000001")
SIMULATED = "simulated"


@dataclass(frozen=True)
class Rules:
    """The rules one symbol's quotes are judged by (settings: PRICE_AGREE_PERCENT... per symbol)."""

    quote_max_age: timedelta
    # How far a price may move from the last accepted one before a second source must confirm it.
    max_jump_percent: Decimal
    jump_reference_age: timedelta
    # How far two sources may disagree and still be combined; an outlier's distance from the median.
    agree_percent: Decimal

    @classmethod
    def from_settings(cls, symbol: str) -> "Rules":
        return cls(quote_max_age=timedelta(seconds=settings.PRICE_QUOTE_MAX_AGE_SECONDS),
                   max_jump_percent=Decimal(str(settings.PRICE_MAX_JUMP_PERCENT_BY_SYMBOL[symbol])),
                   jump_reference_age=timedelta(seconds=settings.PRICE_JUMP_REFERENCE_SECONDS),
                   agree_percent=Decimal(str(settings.PRICE_AGREE_PERCENT_BY_SYMBOL[symbol])))

    def recorded(self) -> dict[str, str | int]:
        """These rules as kept with a result (predictions' audit rows), by setting name."""
        return {"agree_percent": str(self.agree_percent), "max_jump_percent": str(self.max_jump_percent),
                "quote_max_age_seconds": int(self.quote_max_age.total_seconds()),
                "jump_reference_seconds": int(self.jump_reference_age.total_seconds())}


class Disagreement(str):
    """A problem of `price_combine` saying the sources disagreed beyond the agreement bound.

    A str, so problems stay plain text; its own type, so the cycle counts disagreements per
    symbol (/metrics) without reading the text.
    """


# --- a cycle's quotes ------------------------------------------------------------------------

def quote_problem(*, quote: Price, now: datetime, max_age: timedelta) -> str | None:
    """Why this quote must not be used, or None."""
    values = (quote.bid, quote.ask, quote.mid)
    if not all(v.is_finite() for v in values):
        return f"not a number (bid {quote.bid}, ask {quote.ask})"
    if quote.bid <= 0 or quote.ask <= 0:
        return f"non-positive price (bid {quote.bid}, ask {quote.ask})"
    if quote.ask >= MAX_PRICE:
        return f"price out of range ({quote.ask})"
    if quote.bid > quote.ask:
        return f"crossed (bid {quote.bid} > ask {quote.ask})"
    if quote.timestamp < now - max_age:
        age = (now - quote.timestamp).total_seconds()
        return f"stale (quote {age:.0f} s old, limit {max_age.total_seconds():.0f} s)"
    if quote.timestamp > now + FUTURE_TOLERANCE:
        return f"timestamp {(quote.timestamp - now).total_seconds():.0f} s in the future"
    return None


# --- frozen feeds ----------------------------------------------------------------------------
# A feed can go on answering with a fresh time and the same bid and ask: its quotes pass every
# check above. It shows only against another source of the symbol that kept moving.

@dataclass(frozen=True)
class Seen:
    """A source's last bid and ask of a symbol, and since when it has not changed."""

    bid: Decimal
    ask: Decimal
    since: datetime


def seen_update(*, seen: dict[str, Seen], quotes: list[Price], now: datetime) -> dict[str, Seen]:
    """The sources' state after this cycle's quotes (a source that did not answer keeps its own)."""
    updated = dict(seen)
    for quote in quotes:
        previous = seen.get(quote.source)
        if previous is None or (previous.bid, previous.ask) != (quote.bid, quote.ask):
            updated[quote.source] = Seen(bid=quote.bid, ask=quote.ask, since=now)
    return updated


def frozen_sources(*, seen: dict[str, Seen], now: datetime, frozen_after: timedelta) -> dict[str, timedelta]:
    """The sources of one symbol frozen at `now`, with how long each has not changed.

    Frozen: unchanged for `frozen_after` while another source of the symbol changed within
    that time. Whether the market is open is the caller's question (a closed market is still).
    """
    if frozen_after <= timedelta(0):
        return {}
    still = {source: now - s.since for source, s in seen.items()}
    moved = {source for source, age in still.items() if age < frozen_after}
    return {source: age for source, age in still.items() if age >= frozen_after and moved - {source}}


def _percent(a: Decimal, b: Decimal) -> Decimal:
    """How far `a` is from `b`, in percent of `b` (a move from a reference, a distance from a median)."""
    return abs(a - b) / b * 100


def gap_percent(a: Decimal, b: Decimal) -> Decimal:
    """How far two sources are apart, in percent of the lower: the same whichever is named first."""
    return abs(a - b) / min(a, b) * 100


def price_combine(*, symbol: str, quotes: list[Price], reference: Price | None,
                  now: datetime, rules: Rules) -> tuple[Price | None, list[str]]:
    """The price to trust from this cycle's quotes of one symbol, and what was set aside.

    Median of the valid quotes, after setting aside: a jump beyond `max_jump_percent` from the
    last accepted price that no second source confirms, then (3+ sources) a quote more than
    `agree_percent` from the median of a majority that agrees. Sources that disagree beyond
    `agree_percent` with nothing to arbitrate give no price (a `Disagreement` among the
    problems): better no price than a wrong one.
    """
    problems: list[str] = []
    # The quotes set aside and why: kept with the accepted price as part of its provenance.
    aside: list[tuple[Price, str]] = []

    def set_aside(quote: Price, reason: str, kind: type[str] = str) -> None:
        problems.append(kind(f"{quote.source}: {reason}"))
        aside.append((quote, reason))

    jump, agree = rules.max_jump_percent, rules.agree_percent
    valid = []
    for quote in quotes:
        problem = quote_problem(quote=quote, now=now, max_age=rules.quote_max_age)
        if problem:
            set_aside(quote, problem)
        else:
            valid.append(quote)

    if reference is not None and any((SIMULATED in q.source) != (SIMULATED in reference.source) for q in valid):
        # Switching between the demo feed and real providers is not a market move.
        reference = None
    if valid and reference is not None and now - reference.timestamp <= rules.jump_reference_age:
        ref = reference.mid
        near = [q for q in valid if _percent(q.mid, ref) <= jump]
        far = [q for q in valid if _percent(q.mid, ref) > jump]
        # Confirmed: another source jumped the same way and agrees with this one.
        confirmed = [q for q in far if any(
            other.source != q.source and (other.mid > ref) == (q.mid > ref)
            and gap_percent(other.mid, q.mid) <= agree for other in far)]
        for q in far:
            if q not in confirmed:
                set_aside(q, f"jump of {_percent(q.mid, ref):.2f}% from the last accepted {ref} not confirmed "
                             "by a second source")
        if near and confirmed:
            if len(near) == len(confirmed):
                problems.append(Disagreement("sources disagree about a jump: no price"))
                return None, problems
            valid = near if len(near) > len(confirmed) else confirmed
        else:
            valid = near or confirmed

    if len(valid) >= 3:
        center = statistics.median(q.mid for q in valid)
        outliers = [q for q in valid if _percent(q.mid, center) > agree]
        if 2 * (len(valid) - len(outliers)) <= len(valid):
            # No majority agrees: the median would sit between camps.
            problems.append(Disagreement("sources disagree: no price"))
            return None, problems
        for q in outliers:
            set_aside(q, f"outlier ({q.mid} vs median {center}: {_percent(q.mid, center):.2f}% off, "
                         f"agreement bound {agree}%)", Disagreement)
        valid = [q for q in valid if q not in outliers]

    if len(valid) == 2 and gap_percent(valid[0].mid, valid[1].mid) > agree:
        problems.append(Disagreement(
            f"{valid[0].source} ({valid[0].mid}) and {valid[1].source} ({valid[1].mid}) disagree by "
            f"{gap_percent(valid[0].mid, valid[1].mid):.2f}%, beyond the agreement bound of {agree}%: no price"))
        return None, problems
    if not valid:
        return None, problems

    sources = sorted({q.source for q in valid})
    price = Price(
        symbol=symbol,
        bid=statistics.median(q.bid for q in valid).quantize(QUANTUM),
        ask=statistics.median(q.ask for q in valid).quantize(QUANTUM),
        mid=statistics.median(q.mid for q in valid).quantize(QUANTUM),
        # The oldest quote in the median: the price is no fresher than its oldest part.
        timestamp=min(q.timestamp for q in valid),
        source=sources[0] if len(sources) == 1 else f"median({','.join(sources)})",
        quotes=tuple(sorted(valid, key=lambda q: q.source)),
        set_aside=tuple(aside),
    )
    return price, problems


# --- stored ticks ----------------------------------------------------------------------------
# A simulated price must never decide, or be the base of, a real prediction: only in demo mode.

def tick_is_trustworthy(tick: "PriceTick | Price", *, demo_mode: bool | None = None) -> bool:
    """Whether a stored tick (or Price) may be a prediction's price: simulated ones only in demo mode."""
    return source_is_trustworthy(tick.source, demo_mode=demo_mode)


def source_is_trustworthy(source: str, *, demo_mode: bool | None = None) -> bool:
    """`tick_is_trustworthy` of a tick's source as recorded (a prediction keeps its prices' sources)."""
    demo = settings.DEMO_MODE if demo_mode is None else demo_mode
    return demo or source != SIMULATED


def trustworthy_ticks(*, demo_mode: bool | None = None) -> Q:
    """The PriceTick filter of the ticks `tick_is_trustworthy` accepts."""
    demo = settings.DEMO_MODE if demo_mode is None else demo_mode
    return Q() if demo else ~Q(source=SIMULATED)
