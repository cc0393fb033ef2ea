from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from demo.services import demo_seed
from markets.hours import market_is_open
from markets.models import PriceTick
from news.models import NewsSource
from predictions.models import Prediction, VerificationAudit, Vote

pytestmark = pytest.mark.django_db
Status = Prediction.Status
# Gold's market is closed at both: the demo must not care (the simulated feed ignores market hours).
SATURDAY = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHRISTMAS = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


def awaiting(verification):
    return Prediction.objects.get(status=Status.AWAITING_MANUAL, verification=verification)


def test_it_refuses_to_run_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE=true"):
        call_command("demo_seed")
    assert NewsSource.objects.filter(enabled=True).exclude(feed_url__startswith="http://127.0.0.1").exists()


def test_it_seeds_local_feeds_users_simulated_prices_predictions_and_votes(demo_settings):
    call_command("demo_seed")

    enabled = NewsSource.objects.filter(enabled=True)
    assert {s.feed_url for s in enabled} == {
        f"http://127.0.0.1:8001/{c}.xml" for c in ("precious_metals", "forex", "markets")}
    assert get_user_model().objects.filter(username__in=["alice", "bob", "carol", "admin"]).count() == 4
    assert set(PriceTick.objects.values_list("source", flat=True)) == {"simulated"}
    assert Prediction.objects.filter(status=Status.ACTIVE, verify_time__gt=timezone.now()).count() == 4
    assert Vote.objects.count() == 6 * 3


def test_it_leaves_a_manual_prediction_past_its_deadline_awaiting_manual_verification(demo_settings):
    call_command("demo_seed")

    prediction = awaiting("manual")
    assert prediction.verify_time < timezone.now()
    assert sorted(prediction.votes.values_list("user__username", "option__key", "is_correct")) == [
        ("alice", "A", None), ("bob", "B", None), ("carol", "D", None)]
    # Its final price is there for the admin to judge: the simulated price at the deadline.
    assert (prediction.final_price_at, prediction.final_price_source, prediction.final_price_basis) == (
        prediction.verify_time, "simulated", Prediction.PriceBasis.AT_DEADLINE)


def test_it_leaves_an_automatic_prediction_without_a_price_awaiting_manual_verification(demo_settings):
    call_command("demo_seed")

    prediction = awaiting("auto")
    grace = timedelta(seconds=demo_settings.PREDICTION_PRICE_GRACE_SECONDS)
    assert prediction.verify_time + grace < timezone.now()
    assert prediction.final_price is None
    assert prediction.votes.filter(is_correct__isnull=True).count() == 3


def test_it_puts_them_there_through_the_verifier(demo_settings):
    call_command("demo_seed")

    audits = VerificationAudit.objects.filter(kind=VerificationAudit.Kind.AWAITING_MANUAL, by=None)
    assert sorted(audits.values_list("prediction__verification", "prediction__symbol")) == [
        ("auto", "BTCUSD"), ("manual", "XAUUSD")]
    assert audits.get(prediction__verification="auto").note.startswith("no price of BTCUSD within")


def test_it_runs_twice_without_duplicating_users_or_feeds(demo_settings):
    call_command("demo_seed")
    call_command("demo_seed")

    assert get_user_model().objects.count() == 4
    assert NewsSource.objects.filter(feed_url__startswith="http://127.0.0.1:8001/").count() == 3
    assert Prediction.objects.filter(status=Status.AWAITING_MANUAL).count() == 2 * 2
    assert Prediction.objects.filter(status=Status.ACTIVE).count() == 2 * 4
    assert Vote.objects.count() == 2 * 6 * 3


@pytest.mark.parametrize("now", [SATURDAY, CHRISTMAS], ids=["saturday", "christmas"])
def test_it_seeds_the_same_while_gold_s_market_is_closed(demo_settings, now):
    assert not market_is_open(symbol="XAUUSD", at=now)

    seeded = demo_seed(now=now)

    assert [(p.symbol, p.verification, p.status) for p in seeded.awaiting] == [
        ("XAUUSD", "manual", Status.AWAITING_MANUAL), ("BTCUSD", "auto", Status.AWAITING_MANUAL)]
    manual = seeded.awaiting[0]
    # The price at the deadline, not gold's last close before the weekend or the holiday.
    assert (manual.final_price_at, manual.final_price_basis) == (manual.verify_time,
                                                                  Prediction.PriceBasis.AT_DEADLINE)
    assert [(p.symbol, p.status) for p in seeded.upcoming] == [
        ("XAUUSD", Status.ACTIVE), ("BTCUSD", Status.ACTIVE), ("EURUSD", Status.ACTIVE), ("XAGUSD", Status.ACTIVE)]
