"""Deadlines on a closed market: the last close's price, said so in the prediction, the audit and the API."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from markets.hours import market_is_open
from predictions.explain import explanation_text, prediction_explain
from predictions.models import Prediction, VerificationAudit
from predictions.services.verification import prediction_verify_manual
from tests.predictions.factories import (
    SEED_OPTIONS,
    add_tick,
    make_prediction,
    make_user,
    two_sources,
    verify,
    vote,
)

pytestmark = pytest.mark.django_db
Basis = Prediction.PriceBasis


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def on_deadline(alice, *, verify_time: datetime, symbol="XAUUSD"):
    """A prediction made an hour before `verify_time`, on a base of 2000."""
    created = verify_time - timedelta(hours=1)
    return make_prediction(alice, symbol=symbol, created=created, verify_in=timedelta(hours=1))


def test_it_settles_a_saturday_deadline_on_fridays_closing_price(alice, bob):
    friday, saturday = utc("2026-11-27T20:00:00"), utc("2026-11-28T12:00:00")
    prediction = make_prediction(alice, created=friday, verify_in=saturday - friday)
    vote(bob, prediction, "A")
    add_tick(mid="2015", at=utc("2026-11-27T21:59:00"))
    add_tick(mid="2020", at=utc("2026-11-27T21:59:58"))  # the last tick before the 22:00 UTC close
    add_tick(mid="2500", at=utc("2026-11-28T11:59:50"))  # a weekend poll: not the closing price

    summary = verify(saturday + timedelta(seconds=1))  # due at once: the closing price is fixed

    prediction.refresh_from_db()
    assert (summary.verified, prediction.correct_option.key) == (1, "A")
    assert (prediction.final_price, prediction.final_price_at) == (Decimal("2020"), utc("2026-11-27T21:59:58"))
    assert prediction.final_price_basis == Basis.LAST_CLOSE
    audit = VerificationAudit.objects.get()
    assert (audit.final_price_basis, audit.final_price_at) == (Basis.LAST_CLOSE, utc("2026-11-27T21:59:58"))


def test_it_explains_a_last_close_settlement_with_the_closing_ticks_sources(alice):
    friday, saturday = utc("2026-11-27T20:00:00"), utc("2026-11-28T12:00:00")
    prediction = make_prediction(alice, created=friday, verify_in=saturday - friday)
    add_tick(mid="2020", at=utc("2026-11-27T21:59:58"), sources=two_sources("2020"))
    add_tick(mid="2500", at=utc("2026-11-28T11:59:50"), sources=two_sources("2500"))  # a weekend poll
    verify(saturday + timedelta(seconds=1))

    # The audit keeps the quotes of the closing tick, not of the tick at verify_time.
    assert VerificationAudit.objects.get().final_price_sources == two_sources("2020")
    explanation = prediction_explain(prediction_id=prediction.pk)
    assert explanation.final_price_basis == Basis.LAST_CLOSE
    timing = explanation.final.checks[0]
    assert timing.ok and "closing price" in timing.what and "2026-11-27T22:00:00.000Z" in timing.detail
    text = explanation_text(explanation)
    assert "basis: last_close (the market was closed at verify_time" in text
    assert "goldapi: bid 2020 ask 2020" in text


def test_it_uses_the_summer_close_in_the_hour_daylight_saving_moves(alice):
    # 21:30 UTC on a July Friday is after 17:00 New York (EDT): closed, settled on the 21:00 UTC close.
    deadline = utc("2026-07-10T21:30:00")
    prediction = on_deadline(alice, verify_time=deadline)
    add_tick(mid="2020", at=utc("2026-07-10T20:59:59"))
    add_tick(mid="1900", at=utc("2026-07-10T21:29:59"))  # after the close

    verify(deadline + timedelta(seconds=1))

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_basis) == (Decimal("2020"), Basis.LAST_CLOSE)


def test_it_uses_the_price_at_the_deadline_in_that_hour_in_winter(alice, settings):
    # The same 21:30 UTC on a January Friday is before 17:00 New York (EST): open.
    deadline = utc("2026-01-09T21:30:00")
    prediction = on_deadline(alice, verify_time=deadline)
    add_tick(mid="2010", at=deadline - timedelta(seconds=1))

    assert verify(deadline + timedelta(seconds=1)).batches == 0  # open: waits for a later tick
    verify(deadline + timedelta(seconds=settings.PREDICTION_SETTLE_SECONDS))

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_basis) == (Decimal("2010"), Basis.AT_DEADLINE)


def test_it_settles_a_christmas_deadline_on_the_close_of_the_24th(alice):
    christmas = utc("2026-12-25T15:00:00")
    prediction = on_deadline(alice, verify_time=christmas)
    add_tick(mid="2030", at=utc("2026-12-24T21:59:59"))  # Thursday 16:59:59 New York

    verify(christmas)

    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.VERIFIED
    assert (prediction.final_price, prediction.final_price_at) == (Decimal("2030"), utc("2026-12-24T21:59:59"))
    assert prediction.final_price_basis == Basis.LAST_CLOSE


def test_it_never_uses_a_last_close_for_btc(alice, settings):
    deadline = utc("2026-12-25T15:00:00")
    prediction = on_deadline(alice, symbol="BTCUSD", verify_time=deadline)
    add_tick(symbol="BTCUSD", mid="2020", at=deadline - timedelta(seconds=3))

    verify(deadline + timedelta(seconds=settings.PREDICTION_SETTLE_SECONDS))

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_basis) == (Decimal("2020"), Basis.AT_DEADLINE)


def test_it_waits_for_an_admin_when_no_price_came_near_the_close(alice, settings):
    settings.PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS = 600
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    add_tick(mid="2020", at=utc("2026-11-27T21:49:59"))  # 10 min 1 s before the close: too old

    assert verify(saturday).retried == 1
    summary = verify(saturday + timedelta(seconds=settings.PREDICTION_PRICE_GRACE_SECONDS))

    prediction.refresh_from_db()
    assert (summary.awaiting_manual, prediction.status) == (1, Prediction.Status.AWAITING_MANUAL)
    assert "its market closed at 2026-11-27T22:00:00+00:00" in VerificationAudit.objects.get().note


def test_it_takes_a_closing_price_within_the_limit(alice, settings):
    settings.PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS = 600
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    add_tick(mid="2020", at=utc("2026-11-27T21:50:00"))  # exactly 10 min before the close

    verify(saturday)

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_basis) == (Decimal("2020"), Basis.LAST_CLOSE)


def test_it_ignores_an_untrustworthy_closing_tick(alice):
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    add_tick(mid="2020", at=utc("2026-11-27T21:59:50"))
    add_tick(mid="2500", at=utc("2026-11-27T21:59:55"), source="simulated")

    verify(saturday)

    prediction.refresh_from_db()
    assert prediction.final_price == Decimal("2020")


def test_it_keeps_the_basis_in_a_correction_by_hand(alice, bob):
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=utc("2026-11-27T21:59:58"))
    verify(saturday)
    admin = make_user("root", is_staff=True, is_superuser=True)

    prediction_verify_manual(prediction_id=prediction.pk, option_key="B", note="", by=admin,
                             now=saturday + timedelta(hours=1))

    correction = VerificationAudit.objects.get(kind=VerificationAudit.Kind.CORRECTION)
    assert (correction.final_price_basis, correction.final_price) == (Basis.LAST_CLOSE, Decimal("2020"))


# --- the API -----------------------------------------------------------------------------------

def _next(weekday: int, hour: int) -> datetime:
    """The next `weekday` at `hour`:00 UTC at least two days ahead of the real clock (the API's `now`)."""
    at = (timezone.now() + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)
    while at.weekday() != weekday:
        at += timedelta(days=1)
    return at


def _create(api, verify_time: datetime):
    add_tick(mid="2000", at=timezone.now() - timedelta(seconds=1))
    return api.post("/api/predictions/", {"symbol": "XAUUSD", "question": "Gold?", "options": SEED_OPTIONS,
                                          "verify_time": verify_time.isoformat()}, format="json")


def test_it_creates_a_prediction_on_a_closed_market_with_a_warning(api):
    saturday = _next(5, 12)

    response = _create(api, saturday)

    assert response.status_code == 201, response.json()
    [warning] = response.json()["warnings"]
    assert warning.startswith(f"XAUUSD is closed at {saturday:%Y-%m-%dT%H:%M:%S}.000Z; it will settle on the last "
                              "close before it (")
    assert response.json()["final_price_basis"] is None


def test_it_warns_of_nothing_on_an_open_market(api):
    wednesday = _next(2, 12)
    if not market_is_open(symbol="XAUUSD", at=wednesday):  # a Christmas or New Year's Day
        wednesday += timedelta(days=7)

    response = _create(api, wednesday)

    assert (response.status_code, response.json()["warnings"]) == (201, [])


def test_it_shows_the_basis_in_the_api(api, alice):
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    add_tick(mid="2020", at=utc("2026-11-27T21:59:58"))
    verify(saturday)

    data = api.get(f"/api/predictions/{prediction.pk}/").json()

    assert (data["final_price_basis"], data["final_price_at"]) == ("last_close", "2026-11-27T21:59:58.000Z")


def test_it_uses_the_price_at_the_deadline_in_demo_mode(alice, settings):
    # The simulated feed ignores market hours: a weekend demo has prices at the deadline.
    settings.DEMO_MODE = True
    saturday = utc("2026-11-28T12:00:00")
    prediction = on_deadline(alice, verify_time=saturday)
    add_tick(mid="2020", at=utc("2026-11-27T21:59:58"), source="simulated")
    add_tick(mid="2040", at=saturday - timedelta(seconds=1), source="simulated")

    verify(saturday + timedelta(seconds=settings.PREDICTION_SETTLE_SECONDS))

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.final_price_basis) == (Decimal("2040"), Basis.AT_DEADLINE)
