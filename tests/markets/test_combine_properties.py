"""Properties of the trust rules over arbitrary quotes (hypothesis)."""

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from markets.price import Price
from markets.trust import quote_problem
from tests.markets.factories import NOW, RULES, combine, reference

prices = st.one_of(
    st.decimals(min_value=-10, max_value=10_000, places=3),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal(0)]),
)
quotes = st.builds(
    lambda bid, spread, age, source: Price(symbol="XAUUSD", bid=bid, ask=bid + spread, mid=bid + spread / 2,
                                           timestamp=NOW - timedelta(seconds=age), source=source),
    prices, st.decimals(min_value=-2, max_value=5, places=3), st.integers(min_value=-10, max_value=60),
    st.sampled_from(["a", "b", "c", "d"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(quotes, max_size=5), st.one_of(st.none(), st.decimals(min_value=1, max_value=10_000, places=2)))
def test_it_only_ever_returns_a_sane_price_within_the_range_of_valid_quotes(batch, level):
    price, problems = combine(batch, reference=reference(level) if level is not None else None)

    valid = [q for q in batch if quote_problem(quote=q, now=NOW, max_age=RULES.quote_max_age) is None]
    if price is None:
        assert problems or not valid
        return
    assert valid
    assert 0 < price.bid <= price.mid <= price.ask
    assert min(q.mid for q in valid) <= price.mid <= max(q.mid for q in valid)
    assert price.timestamp >= NOW - RULES.quote_max_age
