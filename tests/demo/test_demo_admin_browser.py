"""The demo's admin in a real browser: the seeded predictions awaiting manual verification are
found by the list's filter and verified by hand, against the ASGI server on the seeded data."""

import os
import subprocess
import sys

import pytest

from predictions.models import Prediction, VerificationAudit
from tests.browser import chromium, screenshot
from tests.processes import ROOT, child_database_url
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]
# The part of the Makefile's DEMO_ENV that the seed and the server depend on.
DEMO_ENV = {"DEMO_MODE": "true", "MARKET_DATA_PROVIDERS": "simulated"}
AWAITING_LABEL = "awaiting manual verification"


def demo_seed(*, redis_url: str) -> str:
    """`manage.py demo_seed` as `make demo` runs it, against the test database."""
    env = {**os.environ, **DEMO_ENV, "DATABASE_URL": child_database_url(), "REDIS_URL": redis_url}
    done = subprocess.run([sys.executable, "manage.py", "demo_seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_it_verifies_a_seeded_prediction_found_by_the_awaiting_manual_verification_filter(redis_url):
    demo_seed(redis_url=redis_url)
    assert Prediction.Status.AWAITING_MANUAL.label == AWAITING_LABEL  # what the filter link reads
    manual = Prediction.objects.get(status=Prediction.Status.AWAITING_MANUAL, verification="manual")

    # The database before and after the browser: Playwright's event loop would make Django refuse
    # the ORM in this thread while it runs.
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url, extra_env=DEMO_ENV) as (
            address, proc), chromium() as browser:
        page = browser.new_page(color_scheme="light", viewport={"width": 1600, "height": 900})
        page.goto(f"http://{address}/admin/")
        page.fill("#id_username", "admin")  # the demo's documented admin account
        page.fill("#id_password", "admin")
        page.click("input[type=submit]")
        page.click("#content-main th a[href$='/predictions/prediction/']")
        page.click(f"#changelist-filter a:text-is('{AWAITING_LABEL}')")
        page.wait_for_url("**/predictions/prediction/?status__exact=awaiting_manual")
        listed = page.locator("#result_list tbody tr").count()
        screenshot(page, "demo-awaiting-manual.png")
        page.click(f"#result_list tr:has(a[href*='/prediction/{manual.pk}/change/']) a:text-is('verify')")
        page.wait_for_selector("text=Save result")
        page.check("input[name=option][value=B]")
        page.fill("textarea[name=note]", "checked the simulated chart")
        screenshot(page, "demo-verify.png")
        page.click("input[type=submit][value='Save result']")
        message = page.inner_text(".messagelist .success")
        shown_status = page.inner_text(".field-status .readonly")
        page.goto(f"http://{address}/admin/predictions/prediction/?status__exact=awaiting_manual")
        listed_after = page.locator("#result_list tbody tr").count()
        screenshot(page, "demo-verified.png")

    assert "Traceback" not in proc.log, proc.log
    assert (listed, listed_after) == (2, 1)  # the manual one and the automatic one without a price
    assert (message, shown_status) == (f"#{manual.pk} verified with option B", Prediction.Status.VERIFIED.label)
    manual.refresh_from_db()
    assert (manual.status, manual.correct_option.key, manual.verified_by.username) == (
        Prediction.Status.VERIFIED, "B", "admin")
    assert sorted(manual.votes.values_list("user__username", "is_correct")) == [
        ("alice", False), ("bob", True), ("carol", False)]
    assert VerificationAudit.objects.get(prediction=manual, kind=VerificationAudit.Kind.MANUAL).by == \
        manual.verified_by
