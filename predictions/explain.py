"""Why a prediction has its result, from stored data alone: `prediction_explain` and its text.

Reads the prediction, its options and audit rows, and the provenance copied at creation and at
verification (ticks are pruned after PRICE_HISTORY_RETENTION_DAYS; the copies stay). The
`explain_prediction` command prints `explanation_text`; the admin's prediction page shows the
same text.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from goldsocial.timefmt import iso_ms
from markets.hours import last_close_before
from markets.models import PriceTick
from markets.price import quotes_decode
from markets.trust import gap_percent, source_is_trustworthy
from predictions import conditions
from predictions.models import Prediction, VerificationAudit
from predictions.outcomes import price_change_percent
from predictions.rules import rule_text, rules_in_force, setting_name

FORMULA = "price_change_percent = (final_price - base_price) / base_price * 100"


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class QuoteLine:
    source: str
    bid: Decimal
    ask: Decimal
    mid: Decimal
    at: datetime
    # Seconds between the quote's time and the moment the price was used (creation, verify_time).
    age_seconds: float
    set_aside: str | None


@dataclass(frozen=True)
class RulesUsed:
    """The rules a price was judged by: as recorded with the result, else today's (labelled so)."""

    # Where they come from: "recorded at creation", "recorded in audit row #n", or "not recorded".
    origin: str
    values: dict
    recorded: bool
    # setting name -> (recorded, today) where today's setting differs from the recorded one.
    changed: dict[str, tuple[str, str]]
    symbol: str = ""


@dataclass(frozen=True)
class PriceUsed:
    role: str  # "base" or "final"
    price: Decimal
    at: datetime
    source: str
    # Where the quotes come from: "copied at creation", "audit row #n", "stored tick #n", or "none kept".
    provenance: str
    quotes: list[QuoteLine]
    checks: list[Check]
    rules: RulesUsed | None = None


@dataclass(frozen=True)
class OptionLine:
    key: str
    text: str
    condition: str
    # None: nothing to evaluate (no condition, or no final price).
    matched: bool | None
    correct: bool


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: datetime
    kind: str
    by: str
    previous_status: str
    new_status: str
    previous_option_key: str
    new_option_key: str
    final_price: Decimal | None
    final_price_at: datetime | None
    final_price_source: str
    price_change_percent: Decimal | None
    note: str


@dataclass(frozen=True)
class Explanation:
    prediction_id: int
    symbol: str
    question: str
    verification: str
    status: str
    created_at: datetime
    verify_time: datetime
    base: PriceUsed
    final: PriceUsed | None
    formula: str | None
    stored_change_percent: Decimal | None
    options: list[OptionLine]
    result: str
    audits: list[AuditLine]
    # at_deadline or last_close (the market was closed at verify_time); empty until a final price.
    final_price_basis: str = ""


class PredictionNotFound(Exception):
    pass


def prediction_explain(*, prediction_id: int) -> Explanation:
    """Everything that decided prediction `prediction_id`'s result, or PredictionNotFound."""
    p = Prediction.objects.select_related("correct_option", "verified_by").filter(pk=prediction_id).first()
    if p is None:
        raise PredictionNotFound(f"no prediction #{prediction_id}")
    audits = list(p.audits.select_related("by").order_by("at", "id"))
    today = rules_in_force(symbol=p.symbol)
    base_rules = _rules_used(p.base_price_rules, origin="recorded at creation", today=today, symbol=p.symbol)
    staleness, limit = _staleness(base_rules)

    base_data, base_from = p.base_price_sources, "copied at creation"
    if not base_data:
        base_data, base_from = _tick_sources(symbol=p.symbol, at=p.base_price_at, source=p.base_price_source)
    base_age = (p.created_at - p.base_price_at).total_seconds()
    base_quotes = _quotes(symbol=p.symbol, data=base_data, at=p.base_price_at, moment=p.created_at)
    base = PriceUsed(
        role="base", price=p.base_price, at=p.base_price_at, source=p.base_price_source, provenance=base_from,
        quotes=base_quotes,
        checks=[
            Check("base tick fresh at creation", 0 <= base_age <= staleness.total_seconds(),
                  f"{base_age:.3f} s before creation; {limit}"),
            Check("base tick not simulated (outside demo mode)", source_is_trustworthy(p.base_price_source),
                  f"source {p.base_price_source}"),
            *_agreement_check("base", base_quotes, base_rules, symbol=p.symbol),
        ], rules=base_rules)

    final = None
    formula = None
    if p.final_price is not None and p.final_price_at is not None:
        final_data, final_from = _final_sources(p, audits)
        final_rules = _final_rules(p, audits, today=today)
        staleness, limit = _staleness(final_rules)
        gap = (p.verify_time - p.final_price_at).total_seconds()
        recomputed = price_change_percent(base=p.base_price, final=p.final_price)
        final_quotes = _quotes(symbol=p.symbol, data=final_data, at=p.final_price_at, moment=p.verify_time)
        final = PriceUsed(
            role="final", price=p.final_price, at=p.final_price_at, source=p.final_price_source,
            provenance=final_from,
            quotes=final_quotes,
            checks=[
                _final_timing_check(p, gap=gap, staleness=staleness, limit=limit, rules=final_rules),
                Check("final tick not simulated (outside demo mode)", source_is_trustworthy(p.final_price_source),
                      f"source {p.final_price_source}"),
                *_agreement_check("final", final_quotes, final_rules, symbol=p.symbol),
                Check("stored price_change_percent equals the formula's", recomputed == p.price_change_percent,
                      f"stored {p.price_change_percent}, computed {recomputed}"),
            ], rules=final_rules)
        formula = (f"{FORMULA} = ({p.final_price} - {p.base_price}) / {p.base_price} * 100 = {recomputed}")

    change = p.price_change_percent
    options = []
    for option in p.options.all():
        matched = None
        if option.condition and change is not None:
            matched = conditions.evaluate(conditions.parse(option.condition), change)
        options.append(OptionLine(key=option.key, text=option.text, condition=option.condition, matched=matched,
                                  correct=p.correct_option_id == option.pk))

    return Explanation(
        prediction_id=p.pk, symbol=p.symbol, question=p.question, verification=p.verification, status=p.status,
        created_at=p.created_at, verify_time=p.verify_time, base=base, final=final, formula=formula,
        stored_change_percent=change, options=options, result=_result(p, audits),
        audits=[_audit_line(a) for a in audits], final_price_basis=p.final_price_basis)


def _rules_used(data: dict, *, origin: str, today: dict, symbol: str) -> RulesUsed:
    if not data:
        return RulesUsed(origin="not recorded", values=today, recorded=False, changed={}, symbol=symbol)
    changed = {setting_name(key, symbol=symbol): (rule_text(key, value), rule_text(key, today[key]))
               for key, value in data.items() if key in today and str(value) != str(today[key])}
    return RulesUsed(origin=origin, values={**today, **data}, recorded=True, changed=changed, symbol=symbol)


def _final_rules(p: Prediction, audits: list[VerificationAudit], *, today: dict) -> RulesUsed:
    # The newest audit row that recorded this final price carries the rules it was taken under.
    for audit in reversed(audits):
        if audit.final_price_at == p.final_price_at and audit.rules:
            return _rules_used(audit.rules, origin=f"recorded in audit row #{audit.pk}", today=today,
                               symbol=p.symbol)
    return _rules_used({}, origin="", today=today, symbol=p.symbol)


def _limit(rules: RulesUsed, key: str, *, symbol: str = "") -> str:
    """`SETTING=value` as the check used it, and where the value comes from."""
    name = setting_name(key, symbol=symbol)
    text = f"{name}={rule_text(key, rules.values[key])}"
    if not rules.recorded:
        return f"{text} (today's setting: none recorded with this result)"
    if name in rules.changed:
        return f"{text} ({rules.origin}; today's setting is {rules.changed[name][1]})"
    return f"{text} ({rules.origin})"


def _staleness(rules: RulesUsed) -> tuple[timedelta, str]:
    return timedelta(seconds=int(rules.values["staleness_seconds"])), f"limit {_limit(rules, 'staleness_seconds')}"


def _agreement_check(role: str, quotes: list[QuoteLine], rules: RulesUsed, *, symbol: str) -> list[Check]:
    """The quotes a price was made from agree within the symbol's agreement bound (two or more only)."""
    used = [q.mid for q in quotes if not q.set_aside]
    if len(used) < 2:
        return []
    gap = gap_percent(max(used), min(used))
    bound = Decimal(str(rules.values["agree_percent"]))
    return [Check(f"{role} tick's quotes agree within the agreement bound", gap <= bound,
                  f"{gap:.4f}% apart; limit {_limit(rules, 'agree_percent', symbol=symbol)}")]


def _final_timing_check(p: Prediction, *, gap: float, staleness: timedelta, limit: str, rules: RulesUsed) -> Check:
    """At the deadline: the tick at or before verify_time within the staleness limit. On a closed
    market: the closing tick, at or before the close within PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS."""
    if p.final_price_basis != Prediction.PriceBasis.LAST_CLOSE:
        return Check("final tick at or before verify_time, within the staleness limit",
                     0 <= gap <= staleness.total_seconds(), f"{gap:.3f} s before verify_time; {limit}")
    closed_at = last_close_before(symbol=p.symbol, at=p.verify_time)
    max_age = int(rules.values["close_price_max_age_seconds"])
    if closed_at is None or p.final_price_at is None:
        return Check("final tick the market's closing price", False, "the market has no close before verify_time")
    before = (closed_at - p.final_price_at).total_seconds()
    return Check("final tick the market's closing price (basis last_close), within "
                 "PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", 0 <= before <= max_age,
                 f"{before:.3f} s before the close at {iso_ms(closed_at)}; "
                 f"limit {_limit(rules, 'close_price_max_age_seconds')}")


def _tick_sources(*, symbol: str, at: datetime, source: str) -> tuple[dict, str]:
    tick = PriceTick.objects.filter(symbol=symbol, timestamp=at, source=source).order_by("id").first()
    if tick is None or not tick.sources:
        return {}, "none kept"
    return tick.sources, f"stored tick #{tick.pk}"


def _final_sources(p: Prediction, audits: list[VerificationAudit]) -> tuple[dict, str]:
    # The newest audit row that recorded this final price carries its provenance.
    for audit in reversed(audits):
        if audit.final_price_at == p.final_price_at and audit.final_price_sources:
            return audit.final_price_sources, f"audit row #{audit.pk}"
    assert p.final_price_at is not None
    return _tick_sources(symbol=p.symbol, at=p.final_price_at, source=p.final_price_source)


def _quotes(*, symbol: str, data: dict, at: datetime, moment: datetime) -> list[QuoteLine]:
    return [QuoteLine(source=q.source, bid=q.bid, ask=q.ask, mid=q.mid, at=q.timestamp,
                      age_seconds=(moment - q.timestamp).total_seconds(), set_aside=reason)
            for q, reason in quotes_decode(symbol=symbol, data=data, at=at)]


def _who(user) -> str:
    return user.get_username() if user is not None else ""


def _result(p: Prediction, audits: list[VerificationAudit]) -> str:
    Status = Prediction.Status
    if p.status == Status.VERIFIED:
        if p.verified_by_id:
            how = f"by {_who(p.verified_by)}"
        elif audits and audits[-1].kind == VerificationAudit.Kind.AUTOMATIC:
            how = "automatically"
        else:
            how = "by a user since deleted"
        option = p.correct_option
        text = f"verified {how} at {iso_ms(p.verified_at)}" + (f": option {option.key} ({option.text})"
                                                               if option else "")
    elif p.status == Status.VOID:
        text = f"void at {iso_ms(p.verified_at)}: no option's condition matched, no vote counts"
    elif p.status == Status.AWAITING_MANUAL:
        text = "awaiting manual verification"
    elif p.status == Status.CANCELLED:
        text = "cancelled"
    else:
        text = f"active: verified after {iso_ms(p.verify_time)}"
    if p.verification_note:
        text += f"; note: {p.verification_note}"
    return text


def _audit_line(a: VerificationAudit) -> AuditLine:
    Kind = VerificationAudit.Kind
    by = _who(a.by) if a.by_id else (
        "the verifier" if a.kind in (Kind.AUTOMATIC, Kind.VOID, Kind.AWAITING_MANUAL) else "a user since deleted")
    return AuditLine(id=a.pk, at=a.at, kind=a.kind, by=by, previous_status=a.previous_status, new_status=a.new_status,
                     previous_option_key=a.previous_option_key, new_option_key=a.new_option_key,
                     final_price=a.final_price, final_price_at=a.final_price_at,
                     final_price_source=a.final_price_source, price_change_percent=a.price_change_percent,
                     note=a.note)


# --- text ------------------------------------------------------------------------------------

def _price_lines(used: PriceUsed, moment: str) -> list[str]:
    lines = [f"{used.role.capitalize()} price: {used.price} at {iso_ms(used.at)} from {used.source}",
             f"  quotes ({used.provenance}):"]
    if not used.quotes:
        lines.append("    none kept")
    for q in used.quotes:
        state = f"set aside: {q.set_aside}" if q.set_aside else "used"
        lines.append(f"    {q.source}: bid {q.bid} ask {q.ask} mid {q.mid} at {iso_ms(q.at)} "
                     f"({q.age_seconds:.3f} s before {moment}) - {state}")
    lines.append("  checks:")
    lines.extend(f"    [{'ok' if c.ok else 'FAILED'}] {c.what}: {c.detail}" for c in used.checks)
    if used.rules is not None:
        lines += _rules_lines(used.rules)
    return lines


def _rules_lines(rules: RulesUsed) -> list[str]:
    if not rules.recorded:
        return ["  rules: none recorded with this result (decided before rules were kept): "
                "checked against today's settings"]
    lines = [f"  rules ({rules.origin}): " + ", ".join(
        f"{setting_name(key, symbol=rules.symbol)}={rule_text(key, value)}" for key, value in rules.values.items())]
    lines.extend(f"    today's setting differs: {name} was {was}, is {now}"
                 for name, (was, now) in sorted(rules.changed.items()))
    return lines


def explanation_text(e: Explanation) -> str:
    lines = [f"Prediction #{e.prediction_id} {e.symbol}: {e.question}",
             f"  verification {e.verification}, status {e.status}, created {iso_ms(e.created_at)}, "
             f"verify_time {iso_ms(e.verify_time)}", ""]
    lines += _price_lines(e.base, "creation")
    lines.append("")
    if e.final is None:
        lines.append("Final price: none recorded")
    else:
        lines += _price_lines(e.final, "verify_time")
        lines.append(f"  basis: {e.final_price_basis or 'not recorded'}"
                     + (" (the market was closed at verify_time: its closing price)"
                        if e.final_price_basis == Prediction.PriceBasis.LAST_CLOSE else ""))
    lines += ["", "Formula:", f"  {e.formula}" if e.formula else f"  {FORMULA}: no final price, not computed",
              "", "Options:"]
    for o in e.options:
        matched = {True: "matched", False: "not matched", None: "not evaluated"}[o.matched]
        condition = o.condition or "(no condition)"
        lines.append(f"  {'*' if o.correct else ' '} {o.key}: {o.text} - {condition} - {matched}"
                     + (" - the correct option" if o.correct else ""))
    lines += ["", f"Result: {e.result}", "", "Audit:"]
    if not e.audits:
        lines.append("  none")
    for a in e.audits:
        option = f", option {a.previous_option_key or '-'} -> {a.new_option_key or '-'}"
        price = (f", final {a.final_price} at {iso_ms(a.final_price_at)} from {a.final_price_source}, "
                 f"change {a.price_change_percent}%") if a.final_price is not None else ", no final price"
        note = f", note: {a.note}" if a.note else ""
        lines.append(f"  #{a.id} {iso_ms(a.at)} {a.kind} by {a.by}: {a.previous_status} -> {a.new_status}"
                     f"{option}{price}{note}")
    return "\n".join(lines) + "\n"
