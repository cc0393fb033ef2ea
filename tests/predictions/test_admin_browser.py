"""Manual verification in the admin: a real browser against the ASGI server, static files as in production."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.template.defaultfilters import date as date_filter
from django.utils.formats import localize

from predictions.models import Prediction, VerificationAudit
from tests.browser import chromium, screenshot
from tests.predictions.factories import NOW, add_tick, make_prediction, make_user, verify, vote
from tests.processes import child_database_url
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]
HOUR = timedelta(hours=1)
# admin/css/base.css: #header { background: var(--header-bg) }, --header-bg: var(--secondary) = #417690.
ADMIN_HEADER_BACKGROUND = "rgb(65, 118, 144)"


def test_a_staff_verifier_verifies_a_manual_prediction_in_the_browser(redis_url):
    alice, bob = make_user("alice"), make_user("bob")
    prediction = make_prediction(alice, verification="manual")
    vote(alice, prediction, "A")
    vote(bob, prediction, "B")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(NOW + HOUR + timedelta(minutes=1))
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.AWAITING_MANUAL
    operator = make_user("operator", is_staff=True)  # staff, not superuser: only these two permissions
    operator.user_permissions.add(Permission.objects.get(codename="verify_prediction"),
                                  Permission.objects.get(codename="view_prediction"))

    # The database before and after the browser: Playwright's event loop would make Django refuse
    # the ORM in this thread while it runs.
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url) as (address, proc), \
            chromium() as browser:
        page = browser.new_page(color_scheme="light")
        page.goto(f"http://{address}/admin/predictions/prediction/{prediction.pk}/verify/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", "pw-operator")
        page.click("input[type=submit]")
        page.wait_for_selector("text=Save result")
        # The stylesheet is applied, not only served.
        assert page.eval_on_selector("#header", "el => getComputedStyle(el).backgroundColor") == \
            ADMIN_HEADER_BACKGROUND
        assert "Segoe UI" in page.evaluate("getComputedStyle(document.body).fontFamily")
        page.check("input[name=option][value=B]")
        page.fill("textarea[name=note]", "checked the chart")
        screenshot(page, "admin-verify.png")
        page.click("input[type=submit][value='Save result']")
        message = page.inner_text(".messagelist .success")
        # Back on the screen: its audit trail (the change page shows audit rows only to those
        # who may view them, which a verifier need not).
        page.goto(f"http://{address}/admin/predictions/prediction/{prediction.pk}/verify/")
        audit_row = page.inner_text("#audit-trail tbody tr:has(td:text-is('Manual'))")
        screenshot(page, "admin-verified.png")

    assert "Traceback" not in proc.log, proc.log
    prediction.refresh_from_db()
    assert (prediction.status, prediction.correct_option.key, prediction.verified_by) == (
        Prediction.Status.VERIFIED, "B", operator)
    assert prediction.verification_note == "checked the chart"
    audit = VerificationAudit.objects.get(prediction=prediction, kind=VerificationAudit.Kind.MANUAL)
    assert (audit.by, audit.new_option_key, audit.note, audit.final_price) == (
        operator, "B", "checked the chart", prediction.final_price)
    assert message == f"#{prediction.pk} verified with option B"
    # Who, when, and the prices the result rests on.
    for shown in ("operator", date_filter(audit.at, "c"), localize(audit.base_price), localize(audit.final_price),
                  date_filter(audit.final_price_at, "c"), localize(audit.price_change_percent)):
        assert shown in audit_row, (shown, audit_row)
