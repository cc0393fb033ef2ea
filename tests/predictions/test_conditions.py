from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictions.conditions import (
    And,
    Compare,
    Not,
    Or,
    ParseError,
    check_options,
    evaluate,
    parse,
    to_intervals,
)
from tests.predictions.factories import SEED_OPTIONS

SEED = {o["key"]: o["condition"] for o in SEED_OPTIONS}


def matches(text, value):
    return evaluate(parse(text), Decimal(value))


@pytest.mark.parametrize(("value", "expected"), [
    ("1.0", "A"), ("2.5", "A"), ("0.9999999999", "B"), ("0.0000000001", "B"), ("0", "C"), ("-0.5", "C"),
    ("-0.25", "C"), ("-0.5000000001", "D"), ("-3", "D"),
])
def test_it_matches_exactly_one_seed_option_at_the_boundaries(value, expected):
    assert [key for key, text in SEED.items() if matches(text, value)] == [expected]


@pytest.mark.parametrize("text", [
    "PRICE_CHANGE_PERCENT >= 1", "price_change_percent>=1", "(price_change_percent >= 1)",
    "price_change_percent >= 1 and not price_change_percent > 5",
    "Price_Change_Percent >= +1.0 Or price_change_percent == -7",
])
def test_it_accepts_keywords_and_the_variable_in_any_case(text):
    assert matches(text, "1")


def test_it_gives_and_precedence_over_or():
    text = "price_change_percent < 0 OR price_change_percent > 5 AND price_change_percent < 6"
    assert matches(text, "-1") and matches(text, "5.5") and not matches(text, "7")


@pytest.mark.parametrize(("op", "true_at", "false_at"), [
    (">=", "1", "0.99"), (">", "1.01", "1"), ("<=", "1", "1.01"), ("<", "0.99", "1"), ("==", "1", "1.0001"),
    ("!=", "1.0001", "1"),
])
def test_it_evaluates_each_comparison(op, true_at, false_at):
    text = f"price_change_percent {op} 1"
    assert matches(text, true_at) and not matches(text, false_at)


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("", 1, "empty"),
    ("price_change_percent", 21, "expected a comparison"),
    ("price_change_percent >=", 24, "expected a number"),
    ("price >= 1", 1, "unknown name 'price'"),
    ("price_change_percent >= 1 AND", 30, "expected price_change_percent"),
    ("(price_change_percent >= 1", 27, "expected ')'"),
    ("price_change_percent >= 1)", 26, "expected AND, OR"),
    ("price_change_percent => 1", 22, "unexpected character '='"),
    ("price_change_percent >= 1e5", 26, "unknown name 'e5'"),
    ("price_change_percent >= 1; DROP TABLE x", 26, "unexpected character ';'"),
    ("__import__('os')", 1, "unknown name"),
    ("price_change_percent >= 1 AND AND price_change_percent < 2", 31, "expected price_change_percent"),
    ("(" * 40 + "price_change_percent > 1" + ")" * 40, 33, "nested"),
    ("price_change_percent > 1 OR " * 30, 501, "longer than 500"),
])
def test_it_refuses_bad_conditions_naming_the_position(text, position, fragment):
    with pytest.raises(ParseError) as error:
        parse(text)
    assert error.value.position == position
    assert fragment in str(error.value)
    assert f"at position {position}" in str(error.value)


def test_it_accepts_the_seed_options_without_overlap_or_gap():
    check = check_options(SEED)
    assert (check.errors, check.overlaps, check.warnings) == ({}, [], [])


def test_it_reports_overlapping_options_with_the_shared_values():
    check = check_options({"A": "price_change_percent >= 0", "B": "price_change_percent <= 0"})
    assert check.overlaps == ["options A and B both match price_change_percent in {0}"]


def test_it_reports_a_gap_as_a_warning():
    check = check_options({"A": "price_change_percent > 0", "B": "price_change_percent < 0"})
    assert check.overlaps == []
    assert check.warnings == ["no option matches price_change_percent in {0}: such a result would be void"]


def test_it_refuses_a_condition_that_can_never_be_true():
    check = check_options({"A": "price_change_percent > 1 AND price_change_percent < 0",
                           "B": "price_change_percent >= 0"})
    assert check.errors == {"A": "this condition can never be true"}


def test_it_sees_through_not_and_double_negation():
    check = check_options({"A": "NOT (NOT price_change_percent >= 1)", "B": "not price_change_percent >= 1"})
    assert (check.overlaps, check.warnings) == ([], [])


# --- Properties ------------------------------------------------------------------------------

ALPHABET = st.sampled_from(list("()<>=!. +-0123456789") + ["AND", "OR", "NOT", "and", "price_change_percent",
                                                             "x", "\n", "€", "\x00"])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(ALPHABET, max_size=40).map(" ".join),
                 st.lists(ALPHABET, max_size=40).map("".join)))
def test_it_never_crashes_on_random_input(text):
    try:
        node = parse(text)
    except ParseError as exc:
        assert 1 <= exc.position <= len(text) + 1
    else:
        to_intervals(node)  # whatever parses also converts


NUMBERS = st.decimals(min_value=-5, max_value=5, places=1, allow_nan=False, allow_infinity=False)
COMPARE = st.builds(Compare, st.sampled_from([">=", ">", "<=", "<", "==", "!="]), NUMBERS)
NODES = st.recursive(COMPARE, lambda inner: st.one_of(
    st.builds(Not, inner),
    st.builds(lambda xs: And(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
    st.builds(lambda xs: Or(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
), max_leaves=8)


def render(node):
    match node:
        case Compare(op, number):
            return f"price_change_percent {op} {number}"
        case Not(operand):
            return f"NOT ({render(operand)})"
        case And(operands):
            return " AND ".join(f"({render(o)})" for o in operands)
        case Or(operands):
            return " or ".join(f"({render(o)})" for o in operands)


@settings(max_examples=300, deadline=None)
@given(NODES, st.lists(st.decimals(min_value=-6, max_value=6, places=2, allow_nan=False), max_size=20))
def test_it_evaluates_exactly_as_the_interval_set_says(node, values):
    parsed = parse(render(node))
    assert parsed == node
    intervals = to_intervals(node)
    # Every constant, just either side of it, and random points.
    probes = set(values)
    for interval in intervals.intervals:
        for end in (interval.low, interval.high):
            if end.is_finite():
                probes.update({end, end - Decimal("0.001"), end + Decimal("0.001")})
    for value in probes:
        assert evaluate(node, value) == intervals.contains(value), (render(node), value, str(intervals))
