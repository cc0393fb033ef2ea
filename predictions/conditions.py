"""The condition language of prediction options, parsed by hand (never `eval`).

Grammar (keywords and the variable name in any case; numbers are plain decimals):

    condition  := or_expr END
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | primary
    primary    := "(" or_expr ")" | comparison
    comparison := "price_change_percent" OP NUMBER
    OP         := ">=" | ">" | "<=" | "<" | "==" | "!="

Every condition is also turned into the exact set of values it accepts (a union of disjoint
intervals of the real line), which is how overlapping options are refused and gaps reported
at creation without sampling. Positions in errors are 1-based character positions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

VARIABLE = "price_change_percent"
MAX_LENGTH = 500
# Deep nesting would otherwise end in RecursionError, which is not a user's syntax error.
MAX_DEPTH = 32
INF = Decimal("Infinity")
NEG_INF = Decimal("-Infinity")


class ParseError(ValueError):
    def __init__(self, message: str, position: int):
        self.message = message
        self.position = position
        super().__init__(f"{message} at position {position}")


# --- Tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, op, lparen, rparen, and, or, not, variable, end
    text: str
    position: int  # 1-based


def tokenize(text: str) -> list[Token]:
    tokens = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            raise ParseError(f"unexpected character {text[index]!r}", index + 1)
        kind = match.lastgroup or ""  # every alternative of _TOKEN is a named group
        value = match.group()
        if kind == "word":
            lowered = value.lower()
            if lowered in _KEYWORDS:
                kind = lowered
            elif lowered == VARIABLE:
                kind = "variable"
            else:
                raise ParseError(f"unknown name {value!r} (the only variable is {VARIABLE})", index + 1)
        if kind != "space":
            tokens.append(Token(kind, value, index + 1))
        index = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# --- Syntax tree ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    op: str
    number: Decimal


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Compare | Not | And | Or


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self, kind: str) -> Token | None:
        if self.current.kind == kind:
            token = self.current
            self.index += 1
            return token
        return None

    def fail(self, expected: str) -> ParseError:
        token = self.current
        found = "the end of the condition" if token.kind == "end" else repr(token.text)
        return ParseError(f"expected {expected} but found {found}", token.position)

    def condition(self) -> Node:
        node = self.or_expr()
        if self.current.kind != "end":
            raise self.fail("AND, OR or the end of the condition")
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.take("or"):
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.take("and"):
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self) -> Node:
        start = self.current
        if self.take("not"):
            self.enter(start)
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        start = self.current
        if self.take("lparen"):
            self.enter(start)
            node = self.or_expr()
            if not self.take("rparen"):
                raise self.fail("')'")
            self.depth -= 1
            return node
        if not self.take("variable"):
            raise self.fail(f"{VARIABLE}, NOT or '('")
        op = self.take("op")
        if op is None:
            raise self.fail("a comparison (>=, >, <=, <, ==, !=)")
        number = self.take("number")
        if number is None:
            raise self.fail("a number")
        return Compare(op.text, Decimal(number.text))

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"nested more than {MAX_DEPTH} levels deep", token.position)


def parse(text: str) -> Node:
    """The syntax tree of `text`, or ParseError naming the position of the first problem."""
    if not isinstance(text, str):
        raise ParseError("a condition must be text", 1)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    if not text.strip():
        raise ParseError("empty condition", 1)
    return _Parser(tokenize(text)).condition()


# --- Evaluation ----------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def evaluate(node: Node, value: Decimal) -> bool:
    match node:
        case Compare(op, number):
            return _COMPARE[op](value, number)
        case Not(operand):
            return not evaluate(operand, value)
        case And(operands):
            return all(evaluate(operand, value) for operand in operands)
        case Or(operands):
            return any(evaluate(operand, value) for operand in operands)
    raise TypeError(f"not a condition node: {node!r}")


# --- Interval sets -------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    low: Decimal
    high: Decimal
    low_closed: bool
    high_closed: bool

    def is_empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and not (self.low_closed and self.high_closed))

    def contains(self, value: Decimal) -> bool:
        above = value > self.low or (self.low_closed and value == self.low)
        below = value < self.high or (self.high_closed and value == self.high)
        return above and below

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{{{self.low}}}"
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        low = "-inf" if self.low == NEG_INF else str(self.low)
        high = "+inf" if self.high == INF else str(self.high)
        return f"{left}{low}, {high}{right}"


def _interval(low: Decimal, high: Decimal, low_closed: bool, high_closed: bool) -> Interval:
    # Infinite ends are never closed: no price change is infinite.
    return Interval(low, high, low_closed and low != NEG_INF, high_closed and high != INF)


@dataclass(frozen=True)
class IntervalSet:
    """A union of disjoint, non-touching intervals, sorted."""

    intervals: tuple[Interval, ...]

    @classmethod
    def of(cls, intervals: Iterable[Interval]) -> IntervalSet:
        items = sorted((i for i in intervals if not i.is_empty()), key=lambda i: (i.low, not i.low_closed))
        merged: list[Interval] = []
        for item in items:
            if merged:
                last = merged[-1]
                touches = last.high > item.low or (
                    last.high == item.low and (last.high_closed or item.low_closed))
                if touches:
                    if item.high > last.high or (item.high == last.high and item.high_closed):
                        merged[-1] = _interval(last.low, item.high, last.low_closed, item.high_closed)
                    continue
            merged.append(item)
        return cls(tuple(merged))

    @classmethod
    def everything(cls) -> IntervalSet:
        return cls((_interval(NEG_INF, INF, False, False),))

    def is_empty(self) -> bool:
        return not self.intervals

    def contains(self, value: Decimal) -> bool:
        return any(interval.contains(value) for interval in self.intervals)

    def complement(self) -> IntervalSet:
        gaps = []
        low, low_closed = NEG_INF, False
        for item in self.intervals:
            gaps.append(_interval(low, item.low, low_closed, not item.low_closed))
            low, low_closed = item.high, not item.high_closed
        gaps.append(_interval(low, INF, low_closed, False))
        return IntervalSet.of(gaps)

    def intersection(self, other: IntervalSet) -> IntervalSet:
        parts = []
        for a in self.intervals:
            for b in other.intervals:
                if a.low > b.low or (a.low == b.low and not a.low_closed):
                    low, low_closed = a.low, a.low_closed
                else:
                    low, low_closed = b.low, b.low_closed
                if a.high < b.high or (a.high == b.high and not a.high_closed):
                    high, high_closed = a.high, a.high_closed
                else:
                    high, high_closed = b.high, b.high_closed
                parts.append(_interval(low, high, low_closed, high_closed))
        return IntervalSet.of(parts)

    def union(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet.of(self.intervals + other.intervals)

    def __str__(self) -> str:
        return " ∪ ".join(str(i) for i in self.intervals) if self.intervals else "∅"


def to_intervals(node: Node) -> IntervalSet:
    """The exact set of price_change_percent values for which `node` is true."""
    match node:
        case Compare(op, n):
            if op == ">=":
                return IntervalSet.of([_interval(n, INF, True, False)])
            if op == ">":
                return IntervalSet.of([_interval(n, INF, False, False)])
            if op == "<=":
                return IntervalSet.of([_interval(NEG_INF, n, False, True)])
            if op == "<":
                return IntervalSet.of([_interval(NEG_INF, n, False, False)])
            if op == "==":
                return IntervalSet.of([_interval(n, n, True, True)])
            return IntervalSet.of([_interval(NEG_INF, n, False, False), _interval(n, INF, False, False)])
        case Not(operand):
            return to_intervals(operand).complement()
        case And(operands):
            result = IntervalSet.everything()
            for operand in operands:
                result = result.intersection(to_intervals(operand))
            return result
        case Or(operands):
            result = IntervalSet(())
            for operand in operands:
                result = result.union(to_intervals(operand))
            return result
    raise TypeError(f"not a condition node: {node!r}")


# --- A set of options ----------------------------------------------------------------------

@dataclass(frozen=True)
class OptionsCheck:
    errors: dict[str, str]  # option key -> message (syntax errors, never-true conditions)
    overlaps: list[str]  # messages, one per overlapping pair
    gaps: IntervalSet  # values no option accepts

    @property
    def warnings(self) -> list[str]:
        if self.gaps.is_empty():
            return []
        return [f"no option matches price_change_percent in {self.gaps}: such a result would be void"]


def check_options(conditions: dict[str, str]) -> OptionsCheck:
    """Parse each option's condition and compare their value sets pairwise."""
    errors: dict[str, str] = {}
    sets: dict[str, IntervalSet] = {}
    for key, text in conditions.items():
        try:
            sets[key] = to_intervals(parse(text))
        except ParseError as exc:
            errors[key] = str(exc)
            continue
        if sets[key].is_empty():
            errors[key] = "this condition can never be true"
    overlaps = []
    keys = list(sets)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            common = sets[a].intersection(sets[b])
            if not common.is_empty():
                overlaps.append(f"options {a} and {b} both match price_change_percent in {common}")
    covered = IntervalSet(())
    for value_set in sets.values():
        covered = covered.union(value_set)
    return OptionsCheck(errors=errors, overlaps=overlaps, gaps=covered.complement())


def matching_option(conditions: dict[str, Node], value: Decimal) -> str | None:
    """The key of the one option whose condition holds for `value` (options never overlap)."""
    for key, node in conditions.items():
        if evaluate(node, value):
            return key
    return None
