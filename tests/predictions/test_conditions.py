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
    matching_option,
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
    ("price_change_percent >= 1)", 26, "expected AND, OR or the end of the condition but found ')'"),
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
    assert str(error.value) == f"{error.value.message} at position {position}"


@pytest.mark.parametrize(("text", "message"), [
    (None, "a condition must be text at position 1"),
    (5, "a condition must be text at position 1"),
    ("   ", "empty condition at position 1"),
])
def test_it_refuses_what_is_not_a_condition(text, message):
    with pytest.raises(ParseError) as error:
        parse(text)
    assert str(error.value) == message


def test_it_accepts_a_condition_of_exactly_the_maximum_length():
    assert parse("price_change_percent > 1".ljust(500)) == Compare(">", Decimal(1))


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


SIBLING = "(price_change_percent>1) OR "
NOT_SIBLING = "NOT price_change_percent>1 OR "


@pytest.mark.parametrize(("text", "accepted"), [
    (SIBLING + "(" * 32 + "price_change_percent>1" + ")" * 32, True),
    (SIBLING * 16 + "(price_change_percent>1)", True),
    (SIBLING * 10 + "(" * 33 + "price_change_percent>1" + ")" * 33, False),
    (NOT_SIBLING + "NOT " * 32 + "price_change_percent>1", True),
    (NOT_SIBLING * 5 + "NOT " * 33 + "price_change_percent>1", False),
])
def test_it_limits_how_deep_each_branch_nests_not_how_many_branches_there_are(text, accepted):
    if accepted:
        parse(text)
    else:
        with pytest.raises(ParseError, match="nested more than 32 levels deep"):
            parse(text)


@pytest.mark.parametrize(("text", "shown"), [
    ("price_change_percent >= 1", "[1, +inf)"),
    ("price_change_percent > 1.5", "(1.5, +inf)"),
    ("price_change_percent <= -0.5", "(-inf, -0.5]"),
    ("price_change_percent < 2", "(-inf, 2)"),
    ("price_change_percent >= 1 AND price_change_percent <= 2", "[1, 2]"),
    ("price_change_percent > 1 AND price_change_percent < 2", "(1, 2)"),
    ("price_change_percent == 0", "{0}"),
    ("price_change_percent != 0", "(-inf, 0) ∪ (0, +inf)"),
    ("price_change_percent > 1 AND price_change_percent < 0", "∅"),
    # Touching or overlapping pieces are merged, keeping a closed end.
    ("price_change_percent <= 0 OR price_change_percent > 0", "(-inf, +inf)"),
    ("(price_change_percent >= 0 AND price_change_percent <= 1) OR "
     "(price_change_percent > 0 AND price_change_percent < 1)", "[0, 1]"),
])
def test_it_shows_a_value_set_as_intervals(text, shown):
    # The messages about overlaps and gaps name the values this way.
    assert str(to_intervals(parse(text))) == shown


def test_it_reports_every_broken_condition_and_still_checks_the_others():
    check = check_options({"A": "price >= 1", "B": "price_change_percent >=", "C": "price_change_percent >= 0",
                           "D": "price_change_percent >> 1", "E": "price_change_percent >= 1"})
    assert check.errors == {"A": "unknown name 'price' (the only variable is price_change_percent) at position 1",
                            "B": "expected a number but found the end of the condition at position 24",
                            "D": "expected a number but found '>' at position 23"}
    assert check.overlaps == ["options C and E both match price_change_percent in [1, +inf)"]


@pytest.mark.parametrize(("value", "expected"), [("1", "A"), ("0.5", "B"), ("-0.5", "C"), ("-3", "D")])
def test_it_finds_the_option_whose_condition_holds(value, expected):
    nodes = {key: parse(text) for key, text in SEED.items()}
    assert matching_option(nodes, Decimal(value)) == expected


def test_it_finds_no_option_in_a_gap():
    nodes = {"UP": parse("price_change_percent > 0"), "DOWN": parse("price_change_percent < 0")}
    assert matching_option(nodes, Decimal(0)) is None


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
