"""The trust rules for a cycle's quotes (price_combine) and for stored ticks: pure, no database."""

from datetime import timedelta
from decimal import Decimal

import pytest

from markets.models import PriceTick
from markets.price import Price
from markets.trust import Disagreement, Rules, price_combine, tick_is_trustworthy
from tests.markets.factories import NOW, combine, quote, reference

# --- the rules --------------------------------------------------------------------------------

@pytest.mark.parametrize(("quote", "reason"), [
    (quote(0), "non-positive"),
    (quote(-4160), "non-positive"),
    (quote(4160, bid=0, ask=4160), "non-positive"),
    (quote(Decimal("NaN")), "not a number"),
    (quote(Decimal("Infinity")), "not a number"),
    (quote(4160, bid=4161, ask=4160), "crossed"),
    (quote(4160, age=31), "stale"),
    (quote(4160, age=-60), "in the future"),
    (quote(Decimal("1e15")), "out of range"),
])
def test_it_refuses_a_bad_quote_and_says_why(quote, reason):
    price, problems = combine([quote])

    assert price is None
    assert reason in problems[0]


def test_it_accepts_a_quote_just_inside_the_age_limit():
    price, problems = combine([quote(4160, age=30)])

    assert price is not None and problems == []


def test_it_takes_the_median_of_the_sources_with_the_oldest_time_and_all_names():
    price, problems = combine([quote(4160, "b", age=3), quote(4162, "c", age=1), quote(4161, "a", age=2)])

    assert price.mid == Decimal("4161")
    assert price.timestamp == NOW - timedelta(seconds=3)
    assert price.source == "median(a,b,c)"
    assert problems == []


def test_it_keeps_one_sources_name_when_it_is_the_only_source():
    price, _ = combine([quote(4160, "swissquote", bid=4159, ask=4161)])

    assert (price.bid, price.ask, price.mid) == (Decimal(4159), Decimal(4161), Decimal(4160))
    assert price.source == "swissquote"


def test_it_sets_aside_a_lone_outlier_among_three_sources():
    price, problems = combine([quote(4160, "a"), quote(4161, "b"), quote(4700, "c")])

    assert price.mid == Decimal("4160.5")
    assert price.source == "median(a,b)"
    assert problems and problems[0].startswith("c: outlier")


def test_it_gives_no_price_when_no_majority_of_sources_agrees():
    price, problems = combine([quote(4160, "a"), quote(4161, "b"), quote(4600, "c"), quote(4601, "d")])

    assert price is None
    assert problems == ["sources disagree: no price"]


def test_it_gives_no_price_when_two_sources_disagree_with_nothing_to_arbitrate():
    price, problems = combine([quote(4160, "a"), quote(4392, "b")])

    assert price is None
    assert "disagree" in problems[-1]


def test_it_refuses_a_jump_no_second_source_confirms():
    price, problems = combine([quote(4600, "a")], reference=reference(4160))

    assert price is None
    assert "jump of 10.58%" in problems[0] and "not confirmed" in problems[0]


def test_it_keeps_the_source_near_the_last_price_when_the_other_jumps():
    price, problems = combine([quote(4160, "a"), quote(4600, "b")], reference=reference(4161))

    assert price.source == "a"
    assert problems[0].startswith("b: jump")


def test_it_accepts_a_jump_two_sources_confirm():
    price, problems = combine([quote(4600, "a"), quote(4602, "b")], reference=reference(4160))

    assert price.mid == Decimal("4601")
    assert problems == []


def test_it_does_not_count_a_jump_in_the_other_direction_as_confirmation():
    price, _ = combine([quote(4600, "a"), quote(3700, "b")], reference=reference(4160))

    assert price is None


def test_it_gives_no_price_when_as_many_sources_confirm_a_jump_as_deny_it():
    price, problems = combine([quote(4160, "a"), quote(4161, "b"), quote(4600, "c"), quote(4601, "d")],
                              reference=reference(4160))

    assert price is None
    assert "disagree" in problems[-1]


def test_it_ignores_a_reference_older_than_the_jump_window():
    # After an outage or a weekend the last price says nothing about a jump.
    price, problems = combine([quote(4600, "a")], reference=reference(4160, age=121))

    assert price.mid == Decimal("4600") and problems == []


def test_it_does_not_take_a_switch_between_simulated_and_real_prices_for_a_jump():
    price, problems = combine([quote(4600, "simulated")], reference=reference(4160))

    assert price.source == "simulated" and problems == []


def test_it_accepts_a_move_within_the_bound():
    price, _ = combine([quote(4300, "a")], reference=reference(4160))

    assert price.mid == Decimal("4300")


# --- the rules at their bounds (RULES: 5 %, quotes 30 s old, a reference 120 s old) ----------

def test_it_accepts_a_price_below_one():
    price, problems = combine([quote("0.5")])

    assert (price.symbol, price.mid, problems) == ("XAUUSD", Decimal("0.5"), [])


@pytest.mark.parametrize(("quote", "reason"), [
    (quote(1, bid=1, ask=0), "non-positive"),
    (quote(10**11), "out of range"),
])
def test_it_refuses_a_quote_at_the_edge_of_what_is_possible(quote, reason):
    price, problems = combine([quote])

    assert price is None
    assert reason in problems[0]


def test_it_accepts_a_quote_stamped_as_far_ahead_as_the_tolerance():
    price, _ = combine([quote(4160, age=-5)])

    assert price is not None


def test_it_still_judges_a_jump_by_a_reference_as_old_as_the_window():
    price, _ = combine([quote(4600, "a")], reference=reference(4160, age=120))

    assert price is None


def test_it_takes_a_move_of_exactly_the_bound_for_no_jump():
    price, problems = combine([quote(4200, "a")], reference=reference(4000))

    assert (price.mid, problems) == (Decimal("4200"), [])


def test_it_takes_a_second_source_exactly_the_bound_away_as_confirmation():
    # 4620 is 5 % above 4400: both confirm the jump, and agree.
    price, problems = combine([quote(4400, "a"), quote(4620, "b")], reference=reference(4000))

    assert (price.mid, problems) == (Decimal("4510"), [])


def test_it_follows_the_larger_camp_when_sources_split_over_a_jump():
    near, jumped = [quote(4000, "a"), quote(4001, "b"), quote(4002, "c")], [quote(4600, "d"), quote(4601, "e")]

    assert combine(near + jumped, reference=reference(4000))[0].mid == Decimal("4001")
    assert combine(near[:1] + jumped, reference=reference(4000))[0].mid == Decimal("4600.5")


def test_it_says_when_sources_disagree_about_a_jump():
    _, problems = combine([quote(4160, "a"), quote(4161, "b"), quote(4600, "c"), quote(4601, "d")],
                          reference=reference(4160))

    assert problems == ["sources disagree about a jump: no price"]


def test_it_keeps_a_source_exactly_the_bound_from_the_median():
    price, problems = combine([quote(4000, "a"), quote(4000, "b"), quote(4200, "c")])

    assert (price.mid, problems) == (Decimal("4000"), [])


def test_it_gives_no_price_when_only_half_the_sources_agree():
    price, problems = combine([quote(3700, "a"), quote(4000, "b"), quote(4100, "c"), quote(4400, "d")])

    assert price is None
    assert problems == ["sources disagree: no price"]


def test_it_takes_two_sources_exactly_the_bound_apart_as_agreeing():
    price, _ = combine([quote(4200, "a"), quote(4000, "b")])

    assert price.mid == Decimal("4100")


def test_it_names_both_sources_when_two_disagree():
    _, problems = combine([quote(4000, "a"), quote(4600, "b")])

    assert problems == ["a (4000) and b (4600) disagree by 15.00%, beyond the agreement bound of 5%: no price"]


# --- bounds per market (Rules.from_settings: the defaults of the settings) ----------------------

def fx(mid, source):
    return Price.from_bid_ask(symbol="EURUSD", bid=Decimal(mid), ask=Decimal(mid), timestamp=NOW, source=source)


def btc(mid, source):
    return Price.from_bid_ask(symbol="BTCUSD", bid=Decimal(mid), ask=Decimal(mid), timestamp=NOW, source=source)


def test_it_reads_each_symbols_own_bounds_from_the_settings(settings):
    settings.PRICE_AGREE_PERCENT_BY_SYMBOL = {"EURUSD": 0.1, "BTCUSD": 1.0}
    settings.PRICE_MAX_JUMP_PERCENT_BY_SYMBOL = {"EURUSD": 1.0, "BTCUSD": 5.0}

    eur, btc_ = Rules.from_settings("EURUSD"), Rules.from_settings("BTCUSD")

    assert (eur.agree_percent, eur.max_jump_percent) == (Decimal("0.1"), Decimal("1.0"))
    assert (btc_.agree_percent, btc_.max_jump_percent) == (Decimal("1.0"), Decimal("5.0"))


def test_it_gives_no_eurusd_price_from_sources_3_percent_apart_and_says_why():
    price, problems = price_combine(symbol="EURUSD", quotes=[fx("1.0800", "swissquote"), fx("1.1113", "kraken")],
                                    reference=None, now=NOW, rules=Rules.from_settings("EURUSD"))

    assert price is None
    assert problems == ["swissquote (1.0800) and kraken (1.1113) disagree by 2.90%, beyond the agreement bound "
                        "of 0.1%: no price"]
    assert isinstance(problems[0], Disagreement)


def test_it_gives_no_eurusd_price_from_sources_apart_by_less_than_the_jump_bound_but_more_than_agreement():
    price, problems = price_combine(symbol="EURUSD", quotes=[fx("1.0800", "swissquote"), fx("1.0870", "kraken")],
                                    reference=None, now=NOW, rules=Rules.from_settings("EURUSD"))

    assert price is None and "disagree by 0.65%" in problems[0]


def test_it_takes_the_median_of_eurusd_sources_a_hundredth_of_a_percent_apart():
    price, problems = price_combine(symbol="EURUSD", quotes=[fx("1.08000", "swissquote"), fx("1.08010", "kraken")],
                                    reference=None, now=NOW, rules=Rules.from_settings("EURUSD"))

    assert (price.mid, price.source, problems) == (Decimal("1.08005"), "median(kraken,swissquote)", [])


def test_it_sets_aside_the_bitcoin_source_3_percent_off_the_two_that_agree_by_the_agreement_bound():
    quotes = [btc("84000", "coinbase"), btc("84100", "kraken"), btc("86520", "bitstamp")]

    price, problems = price_combine(symbol="BTCUSD", quotes=quotes, reference=None, now=NOW,
                                    rules=Rules.from_settings("BTCUSD"))

    # 3 % is inside BTCUSD's jump bound (5): only the agreement bound (1) sets it aside.
    assert (price.mid, price.source) == (Decimal("84050"), "median(coinbase,kraken)")
    assert [q.source for q, _ in price.set_aside] == ["bitstamp"]
    assert problems == ["bitstamp: outlier (86520 vs median 84100: 2.88% off, agreement bound 1.0%)"]
    assert isinstance(problems[0], Disagreement)


def test_it_takes_three_bitcoin_sources_within_the_agreement_bound():
    quotes = [btc("84000", "coinbase"), btc("84100", "kraken"), btc("84800", "bitstamp")]

    price, problems = price_combine(symbol="BTCUSD", quotes=quotes, reference=None, now=NOW,
                                    rules=Rules.from_settings("BTCUSD"))

    assert (price.mid, price.source, problems) == (Decimal("84100"), "median(bitstamp,coinbase,kraken)", [])


def test_it_wants_a_jump_confirmed_by_a_source_within_the_agreement_bound_of_it():
    rules = Rules.from_settings("EURUSD")  # agree 0.1 %, jump 1 %
    ref = Price(symbol="EURUSD", bid=Decimal("1.08"), ask=Decimal("1.08"), mid=Decimal("1.08"),
                timestamp=NOW, source="swissquote")

    # Both jumped up, but 0.5 % apart: neither confirms the other.
    price, problems = price_combine(symbol="EURUSD", quotes=[fx("1.1000", "swissquote"), fx("1.1055", "kraken")],
                                    reference=ref, now=NOW, rules=rules)

    assert price is None
    assert all("not confirmed" in p for p in problems)


# --- stored ticks -------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "demo", "trusted"), [
    ("swissquote", False, True),
    ("median(coinbase,kraken)", False, True),
    ("simulated", False, False),
    ("simulated", True, True),
])
def test_it_trusts_simulated_ticks_only_in_demo_mode(settings, source, demo, trusted):
    settings.DEMO_MODE = demo
    tick = PriceTick(symbol="XAUUSD", bid=1, ask=1, mid=1, source=source, timestamp=NOW, fetched_at=NOW)

    assert tick_is_trustworthy(tick) is trusted
