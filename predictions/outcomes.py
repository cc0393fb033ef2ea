"""Deciding a prediction's outcome: a pure function of the prediction, its options and the final tick.

No database and no clock: the verifier (predictions.services.verification) loads a batch,
asks `outcome_decide` about each prediction and writes what it answers.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any

from markets.models import PriceTick
from predictions import conditions
from predictions.models import Prediction, PredictionOption, VerificationAudit

Status = Prediction.Status
PERCENT_PLACES = Decimal("0.0000000001")  # the stored precision of price_change_percent
_AUDIT_KINDS: dict[str, str] = {
    Status.VERIFIED: VerificationAudit.Kind.AUTOMATIC, Status.VOID: VerificationAudit.Kind.VOID,
    Status.AWAITING_MANUAL: VerificationAudit.Kind.AWAITING_MANUAL}


def price_change_percent(*, base: Decimal, final: Decimal) -> Decimal:
    """The move from `base` to `final` in percent, rounded to the stored precision."""
    # Rounded first, so the stored number is the one that decided.
    return ((final - base) / base * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN)


@lru_cache(maxsize=4096)
def condition_tree(text: str) -> conditions.Node:
    """An option's condition, parsed once per process (a batch repeats the same few texts)."""
    return conditions.parse(text)


@dataclass(frozen=True)
class Outcome:
    """What a verifier run makes of one due prediction.

    `status` is verified, void, awaiting_manual, or still active: no price yet, try again on a
    later run (`retry`).
    """

    status: str
    final_price: Decimal | None = None
    final_price_at: datetime | None = None
    final_price_source: str = ""
    final_price_basis: str = ""
    price_change_percent: Decimal | None = None
    correct_option: PredictionOption | None = None
    resolved_at: datetime | None = None
    verified_at: datetime | None = None
    note: str = ""

    @property
    def retry(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def audit_kind(self) -> str:
        return _AUDIT_KINDS[self.status]


def outcome_decide(*, prediction: Prediction, options: list[PredictionOption], tick: PriceTick | None,
                   now: datetime, grace: timedelta, staleness: timedelta,
                   closed_at: datetime | None = None) -> Outcome:
    """The outcome of `prediction` at `now`, given its final tick (None: no usable price).

    `closed_at` is when the market last closed before verify_time if it was closed then: the
    tick is then its closing price (basis `last_close`), otherwise the price at verify_time
    (`at_deadline`). A manual prediction waits for an admin, with the price recorded; without
    a price an automatic one is retried until `grace` after its verify_time, then waits for an
    admin; otherwise the option whose condition matches the change wins, and none matching is
    void.
    """
    price: dict[str, Any] = {}
    if tick is not None:
        basis = Prediction.PriceBasis.AT_DEADLINE if closed_at is None else Prediction.PriceBasis.LAST_CLOSE
        price = {"final_price": tick.mid, "final_price_at": tick.timestamp, "final_price_source": tick.source,
                 "final_price_basis": basis,
                 "price_change_percent": price_change_percent(base=prediction.base_price, final=tick.mid)}
    manual = prediction.verification == Prediction.Verification.MANUAL
    if not manual and tick is None and now < prediction.verify_time + grace:
        return Outcome(Status.ACTIVE)
    if manual or tick is None:
        moment = "verify_time" if closed_at is None else f"its market closed at {closed_at.isoformat()}"
        note = "" if tick else (
            f"no price of {prediction.symbol} within {staleness.total_seconds():.0f} s before {moment} "
            f"after {grace.total_seconds():.0f} s of retries")
        return Outcome(Status.AWAITING_MANUAL, **price, note=note)
    key = conditions.matching_option({o.key: condition_tree(o.condition) for o in options},
                                     price["price_change_percent"])
    option = next((o for o in options if o.key == key), None)
    return Outcome(Status.VERIFIED if option else Status.VOID, **price, correct_option=option,
                   resolved_at=now, verified_at=now)
