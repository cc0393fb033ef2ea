"""explain_prediction and the admin's explanation: a result explained from stored data alone."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from markets.models import PriceTick
from predictions.explain import prediction_explain
from predictions.models import Prediction, VerificationAudit
from predictions.services.verification import prediction_verify_manual
from tests.predictions.factories import (
    NOW,
    UP_DOWN_OPTIONS,
    add_tick,
    make_prediction,
    make_user,
    two_sources,
    verify,
    vote,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
AFTER = NOW + HOUR + timedelta(seconds=30)
BASE_AT = NOW - timedelta(seconds=1)
FINAL_AT = NOW + HOUR - timedelta(seconds=2)
FROZEN = ("kraken", "2011.5", "frozen (bid and ask unchanged for 130 s while goldapi, swissquote moved)")


def explain_text(prediction_id) -> str:
    out = StringIO()
    call_command("explain_prediction", str(prediction_id), stdout=out)
    return out.getvalue()


@pytest.fixture
def operator(db):
    user = make_user("operator", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="verify_prediction"),
                              Permission.objects.get(codename="view_prediction"))
    return user


@pytest.fixture
def verified(alice, bob):
    """Gold from 2000 to 2010 (+0.5 %: option B), the final tick with a frozen source set aside."""
    prediction = make_prediction(alice, base_sources=two_sources("2000"))
    vote(bob, prediction, "B")
    add_tick(mid="2010", at=FINAL_AT, source="median(goldapi,swissquote)",
             sources=two_sources("2010", set_aside=FROZEN))
    verify(AFTER)
    return prediction


def test_it_copies_the_base_ticks_sources_at_creation_and_both_into_the_audit(verified):
    verified.refresh_from_db()
    assert verified.base_price_sources == two_sources("2000")
    audit = VerificationAudit.objects.get()
    assert audit.base_price_sources == two_sources("2000")
    assert audit.final_price_sources == two_sources("2010", set_aside=FROZEN)


def test_it_explains_an_automatic_verification_from_stored_data_alone(verified):
    PriceTick.objects.all().delete()  # pruned: the copies are what is left

    e = prediction_explain(prediction_id=verified.pk)

    assert [(q.source, str(q.bid), str(q.ask), q.set_aside) for q in e.base.quotes] == [
        ("goldapi", "2000", "2000", None), ("swissquote", "1999.9", "2000.1", None)]
    assert e.base.quotes[1].at == BASE_AT + timedelta(milliseconds=250)  # Swissquote's own time
    assert e.final is not None and e.final.provenance.startswith("audit row #")
    assert [(q.source, q.set_aside) for q in e.final.quotes] == [
        ("goldapi", None), ("kraken", FROZEN[2]), ("swissquote", None)]
    assert all(c.ok for c in e.base.checks + e.final.checks)
    assert e.formula == ("price_change_percent = (final_price - base_price) / base_price * 100 = "
                         "(2010.00000000 - 2000.00000000) / 2000.00000000 * 100 = 0.5000000000")
    assert [(o.key, o.matched, o.correct) for o in e.options] == [
        ("A", False, False), ("B", True, True), ("C", False, False), ("D", False, False)]
    assert e.result.startswith("verified automatically at 2026-11-23T10:00:30.000Z: option B")
    assert [(a.kind, a.by) for a in e.audits] == [("automatic", "the verifier")]


def test_it_prints_the_explanation(verified):
    text = explain_text(verified.pk)

    assert f"Prediction #{verified.pk} XAUUSD: Where will gold be?" in text
    assert "Base price: 2000.00000000 at 2026-11-23T08:59:59.000Z from swissquote" in text
    assert "Final price: 2010.00000000 at 2026-11-23T09:59:58.000Z from median(goldapi,swissquote)" in text
    assert ("    kraken: bid 2011.5 ask 2011.5 mid 2011.5 at 2026-11-23T09:59:58.000Z (2.000 s before verify_time)"
            f" - set aside: {FROZEN[2]}") in text
    assert ("[ok] final tick at or before verify_time, within the staleness limit: 2.000 s before verify_time; "
            "limit PRICE_STALENESS_SECONDS=30 s") in text
    assert "[ok] base tick fresh at creation: 1.000 s before creation" in text
    assert "= (2010.00000000 - 2000.00000000) / 2000.00000000 * 100 = 0.5000000000" in text
    assert "  * B: up less than 1% - price_change_percent > 0 AND price_change_percent < 1.0 - matched" in text
    assert "    A: up 1% or more - price_change_percent >= 1.0 - not matched" in text
    assert "Result: verified automatically" in text
    assert "automatic by the verifier: active -> verified, option - -> B, final 2010.00000000" in text


def test_it_explains_a_void_prediction(alice, bob):
    prediction = make_prediction(alice, options=UP_DOWN_OPTIONS)
    vote(bob, prediction, "UP")
    add_tick(mid="2000", at=FINAL_AT)
    verify(AFTER)

    e = prediction_explain(prediction_id=prediction.pk)
    text = explain_text(prediction.pk)

    assert [(o.key, o.matched) for o in e.options] == [("UP", False), ("DOWN", False)]
    assert e.result.startswith("void at 2026-11-23T10:00:30.000Z: no option's condition matched")
    assert e.final is not None and e.final.quotes == [] and e.final.provenance == "none kept"
    assert [(a.kind, a.new_status) for a in e.audits] == [("void", "void")]
    assert "= 0E-10" in text or "= 0.0000000000" in text
    assert "quotes (none kept):\n    none" in text


def test_it_explains_a_manual_verification_with_who_and_when(alice, operator):
    prediction = make_prediction(alice, verification="manual", base_sources=two_sources("2000"))
    add_tick(mid="2030", at=FINAL_AT, sources=two_sources("2030"))
    verify(AFTER)  # a manual prediction waits for an admin, with its price recorded
    PriceTick.objects.all().delete()

    prediction_verify_manual(prediction_id=prediction.pk, option_key="A", note="checked the chart", by=operator,
                             now=AFTER + HOUR)

    e = prediction_explain(prediction_id=prediction.pk)
    assert [(a.kind, a.by, a.note) for a in e.audits] == [
        ("awaiting_manual", "the verifier", ""), ("manual", "operator", "checked the chart")]
    # The manual row keeps the final price's provenance of the row that recorded the price.
    audits = VerificationAudit.objects.order_by("at")
    assert audits[1].final_price_sources == audits[0].final_price_sources == two_sources("2030")
    assert e.result == "verified by operator at 2026-11-23T11:00:30.000Z: option A (up 1% or more); " \
                       "note: checked the chart"
    assert [(o.key, o.matched, o.correct) for o in e.options][0] == ("A", True, True)
    assert "manual by operator: awaiting_manual -> verified, option - -> A" in explain_text(prediction.pk)


def test_it_explains_a_corrected_result_showing_the_match_and_the_correction(verified, operator):
    prediction_verify_manual(prediction_id=verified.pk, option_key="C", note="the feed was wrong", by=operator,
                             now=AFTER + HOUR)

    e = prediction_explain(prediction_id=verified.pk)
    text = explain_text(verified.pk)

    assert [(a.kind, a.by, a.previous_option_key, a.new_option_key) for a in e.audits] == [
        ("automatic", "the verifier", "", "B"), ("correction", "operator", "B", "C")]
    assert [(o.key, o.matched, o.correct) for o in e.options][1:3] == [("B", True, False), ("C", False, True)]
    assert e.result.startswith("verified by operator at 2026-11-23T11:00:30.000Z: option C")
    assert "correction by operator: verified -> verified, option B -> C" in text and "the feed was wrong" in text
    assert VerificationAudit.objects.get(kind="correction").final_price_sources == two_sources(
        "2010", set_aside=FROZEN)


def test_it_checks_a_result_against_the_rules_recorded_with_it_and_names_todays_when_they_differ(alice, settings):
    prediction = make_prediction(alice, base_sources=two_sources("2000"))
    add_tick(mid="2010", at=FINAL_AT, sources=two_sources("2010"))
    verify(AFTER)  # under PRICE_STALENESS_SECONDS=30: the final tick is 2 s before verify_time
    settings.PRICE_STALENESS_SECONDS = 1  # tightened since
    settings.PRICE_AGREE_PERCENT_BY_SYMBOL = {**settings.PRICE_AGREE_PERCENT_BY_SYMBOL, "XAUUSD": 0.2}

    e = prediction_explain(prediction_id=prediction.pk)
    text = explain_text(prediction.pk)

    assert e.final is not None and all(c.ok for c in e.base.checks + e.final.checks)
    audit = VerificationAudit.objects.get()
    assert (f"[ok] final tick at or before verify_time, within the staleness limit: 2.000 s before verify_time; "
            f"limit PRICE_STALENESS_SECONDS=30 s (recorded in audit row #{audit.pk}; today's setting is 1 s)") in text
    assert "today's setting differs: PRICE_STALENESS_SECONDS was 30 s, is 1 s" in text
    assert "today's setting differs: PRICE_AGREE_PERCENT_XAUUSD was 0.3%, is 0.2%" in text
    assert "[ok] base tick fresh at creation: 1.000 s before creation; limit PRICE_STALENESS_SECONDS=30 s " \
           "(recorded at creation; today's setting is 1 s)" in text
    assert audit.rules == {"agree_percent": "0.3", "max_jump_percent": "3.0", "quote_max_age_seconds": 30,
                           "jump_reference_seconds": 120, "staleness_seconds": 30,
                           "close_price_max_age_seconds": 900}


def test_it_carries_the_final_prices_rules_into_a_manual_correction(verified, operator, settings):
    settings.PRICE_STALENESS_SECONDS = 1
    prediction_verify_manual(prediction_id=verified.pk, option_key="C", note="", by=operator, now=AFTER + HOUR)

    assert VerificationAudit.objects.get(kind="correction").rules["staleness_seconds"] == 30
    assert prediction_explain(prediction_id=verified.pk).final.checks[0].ok


def test_it_says_plainly_when_no_rules_were_recorded_and_checks_todays_labelled(alice, settings):
    prediction = make_prediction(alice)
    add_tick(mid="2010", at=FINAL_AT)
    verify(AFTER)
    # A result from before rules were kept.
    Prediction.objects.filter(pk=prediction.pk).update(base_price_rules={})
    VerificationAudit.objects.update(rules={})
    settings.PRICE_STALENESS_SECONDS = 1

    e = prediction_explain(prediction_id=prediction.pk)
    text = explain_text(prediction.pk)

    check = e.final.checks[0]
    assert not check.ok
    assert check.detail == ("2.000 s before verify_time; limit PRICE_STALENESS_SECONDS=1 s (today's setting: none "
                            "recorded with this result)")
    assert "rules: none recorded with this result (decided before rules were kept): checked against today's " \
           "settings" in text


def test_it_flags_final_quotes_further_apart_than_the_recorded_agreement_bound(alice):
    prediction = make_prediction(alice)
    add_tick(mid="2010", at=FINAL_AT, sources={"goldapi": "2000 2000 0", "swissquote": "2020 2020 0"})
    verify(AFTER)

    check = next(c for c in prediction_explain(prediction_id=prediction.pk).final.checks if "agree" in c.what)

    assert not check.ok
    assert check.detail.startswith("1.0000% apart; limit PRICE_AGREE_PERCENT_XAUUSD=0.3% (recorded in audit row #")


def test_it_explains_an_active_prediction_without_a_final_price(alice):
    prediction = make_prediction(alice)

    text = explain_text(prediction.pk)

    assert "Final price: none recorded" in text and "no final price, not computed" in text
    assert "not evaluated" in text and "Audit:\n  none" in text


@pytest.mark.parametrize(("given", "message"), [
    ("abc", "'abc' is not a prediction id: expected a whole number"),
    ("0", "'0' is not a prediction id"),
    ("-3", "'-3' is not a prediction id"),
    ("999999", "no prediction #999999"),
])
def test_it_refuses_a_bad_id_with_a_clear_error(db, given, message):
    with pytest.raises(CommandError, match=message):
        call_command("explain_prediction", given, stdout=StringIO())


def test_it_shows_the_explanation_read_only_on_the_admin_prediction_page(client, verified, operator):
    client.force_login(operator)

    page = client.get(reverse("admin:predictions_prediction_change", args=[verified.pk])).content.decode()

    assert "Explanation" in page
    assert "Formula:" in page and "0.5000000000" in page and "set aside: frozen" in page
    assert Prediction.objects.get().status == Prediction.Status.VERIFIED
