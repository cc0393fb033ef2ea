"""Deciding outcomes: a pure function, so these tests have no database (pytest-django would refuse a query)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from markets.models import PriceTick
from predictions.models import Prediction, PredictionOption, VerificationAudit
from predictions.outcomes import outcome_decide, price_change_percent
from tests.predictions.factories import UP_DOWN_OPTIONS

VERIFY_TIME = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
NOW = VERIFY_TIME + timedelta(minutes=1)
GRACE = timedelta(seconds=600)
STALENESS = timedelta(seconds=30)


def prediction(verification="auto"):
    return Prediction(pk=7, symbol="XAUUSD", verification=verification, verify_time=VERIFY_TIME,
                      base_price=Decimal("2000"), verify_attempts=0)


def options():
    return [PredictionOption(pk=70 + i, prediction_id=7, position=i, **option)
            for i, option in enumerate(UP_DOWN_OPTIONS)]


def tick(mid):
    mid = Decimal(mid)
    return PriceTick(symbol="XAUUSD", bid=mid, ask=mid, mid=mid, source="swissquote",
                     timestamp=VERIFY_TIME - timedelta(seconds=2), fetched_at=VERIFY_TIME)


def decide(*, p=None, final=None, now=NOW):
    return outcome_decide(prediction=p or prediction(), options=options(),
                          tick=tick(final) if final else None, now=now, grace=GRACE, staleness=STALENESS)


def test_it_verifies_with_the_option_whose_condition_matches_the_change():
    outcome = decide(final="2010")

    assert (outcome.status, outcome.correct_option.key) == (Prediction.Status.VERIFIED, "UP")
    assert (outcome.final_price, outcome.price_change_percent) == (Decimal("2010"), Decimal("0.5"))
    assert outcome.final_price_at == VERIFY_TIME - timedelta(seconds=2) and outcome.final_price_source == "swissquote"
    assert (outcome.resolved_at, outcome.verified_at) == (NOW, NOW)
    assert outcome.audit_kind == VerificationAudit.Kind.AUTOMATIC


def test_it_voids_a_change_no_option_matches():
    outcome = decide(final="2000")

    assert (outcome.status, outcome.correct_option) == (Prediction.Status.VOID, None)
    assert outcome.price_change_percent == 0 and outcome.resolved_at == NOW
    assert outcome.audit_kind == VerificationAudit.Kind.VOID


def test_it_retries_a_missing_price_within_the_grace_period():
    outcome = decide(now=VERIFY_TIME + GRACE - timedelta(seconds=1))

    assert outcome.retry and outcome.status == Prediction.Status.ACTIVE
    assert (outcome.final_price, outcome.resolved_at, outcome.note) == (None, None, "")


def test_it_hands_a_missing_price_to_an_admin_once_the_grace_period_is_over():
    outcome = decide(now=VERIFY_TIME + GRACE)

    assert (outcome.status, outcome.final_price, outcome.resolved_at) == (
        Prediction.Status.AWAITING_MANUAL, None, None)
    assert outcome.note == "no price of XAUUSD within 30 s before verify_time after 600 s of retries"
    assert outcome.audit_kind == VerificationAudit.Kind.AWAITING_MANUAL


def test_it_hands_a_manual_prediction_to_an_admin_with_the_price_recorded():
    outcome = decide(p=prediction("manual"), final="2020")

    assert (outcome.status, outcome.correct_option, outcome.resolved_at) == (
        Prediction.Status.AWAITING_MANUAL, None, None)
    assert (outcome.final_price, outcome.price_change_percent, outcome.note) == (Decimal("2020"), Decimal("1"), "")


def test_it_does_not_retry_a_manual_prediction_without_a_price():
    outcome = decide(p=prediction("manual"), now=VERIFY_TIME)

    assert outcome.status == Prediction.Status.AWAITING_MANUAL and not outcome.retry


@pytest.mark.parametrize(("base", "final", "percent"), [
    ("2000", "1989.98", "-0.501"),
    ("3", "4", "33.3333333333"),
    ("3", "2", "-33.3333333333"),
])
def test_it_rounds_the_change_to_the_stored_ten_places(base, final, percent):
    assert price_change_percent(base=Decimal(base), final=Decimal(final)) == Decimal(percent)


def test_it_decides_on_the_rounded_change():
    # +0.00000000004% rounds to 0: no option matches a change of exactly zero.
    assert decide(final="2000.0000000008").status == Prediction.Status.VOID
