from datetime import timedelta
from decimal import Decimal

import pytest

from predictions.models import Notification, Prediction, UserStats, VerificationAudit, Vote
from predictions.tasks import verify_predictions
from tests.predictions.factories import NOW, UP_DOWN_OPTIONS, add_tick, make_prediction, make_user, verify, vote

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
AFTER = NOW + HOUR + timedelta(seconds=30)  # past verify_time and the settle delay


@pytest.mark.parametrize(("final", "percent", "winner"), [
    ("2020", "1.0", "A"), ("2010", "0.5", "B"), ("2000", "0", "C"), ("1990", "-0.5", "C"), ("1989.98", "-0.501", "D"),
])
def test_it_picks_the_seed_option_at_each_boundary(alice, bob, final, percent, winner):
    prediction = make_prediction(alice)
    vote(alice, prediction, winner)
    vote(bob, prediction, "A" if winner != "A" else "B")
    add_tick(mid=final, at=NOW + HOUR - timedelta(seconds=2))

    summary = verify(AFTER)

    prediction.refresh_from_db()
    assert (summary.verified, prediction.status) == (1, Prediction.Status.VERIFIED)
    assert prediction.correct_option.key == winner
    assert prediction.price_change_percent == Decimal(percent)
    assert prediction.final_price == Decimal(final)
    assert dict(Vote.objects.values_list("user__username", "is_correct")) == {"alice": True, "bob": False}


def test_it_voids_a_result_no_option_matches_and_counts_no_vote(alice, bob):
    prediction = make_prediction(alice, options=UP_DOWN_OPTIONS)
    vote(bob, prediction, "UP")
    add_tick(mid="2000", at=NOW + HOUR)

    summary = verify(AFTER)

    prediction.refresh_from_db()
    assert (summary.void, prediction.status, prediction.correct_option) == (1, Prediction.Status.VOID, None)
    assert Vote.objects.get().is_correct is None
    assert not UserStats.objects.filter(predictions_counted__gt=0).exists()
    assert VerificationAudit.objects.get().kind == VerificationAudit.Kind.VOID
    assert Notification.objects.get().is_correct is None


def test_it_uses_the_price_at_verify_time_not_the_latest_one(alice):
    prediction = make_prediction(alice)
    vote(alice, prediction, "B")
    add_tick(mid="2010", at=NOW + HOUR - timedelta(seconds=5))  # +0.5% at verify time
    add_tick(mid="2100", at=NOW + HOUR + timedelta(seconds=1))  # after it: must be ignored
    add_tick(mid="1800", at=NOW + 3 * HOUR)  # the current price when the late run happens

    verify(NOW + 3 * HOUR)  # two hours late

    prediction.refresh_from_db()
    assert (prediction.final_price, prediction.correct_option.key) == (Decimal("2010"), "B")
    assert prediction.final_price_at == NOW + HOUR - timedelta(seconds=5)


def test_it_ignores_a_tick_older_than_the_staleness_limit(alice):
    prediction = make_prediction(alice)
    add_tick(mid="2100", at=NOW + HOUR - timedelta(seconds=31))

    summary = verify(AFTER)

    prediction.refresh_from_db()
    assert (summary.retried, prediction.status, prediction.verify_attempts) == (1, Prediction.Status.ACTIVE, 1)


def test_it_ignores_simulated_ticks_unless_in_demo_mode(alice, settings):
    prediction = make_prediction(alice)
    add_tick(mid="2100", at=NOW + HOUR, source="simulated")
    assert verify(AFTER).retried == 1

    settings.DEMO_MODE = True
    verify(AFTER + timedelta(seconds=60))
    prediction.refresh_from_db()
    assert prediction.correct_option.key == "A"


def test_it_retries_a_missing_price_then_hands_over_to_manual_verification(alice, settings):
    settings.PREDICTION_PRICE_GRACE_SECONDS = 300
    prediction = make_prediction(alice)

    assert verify(AFTER).retried == 1
    assert verify(AFTER).retried == 0  # once per run, not again at the same `now`
    assert verify(AFTER + timedelta(seconds=60)).retried == 1
    summary = verify(NOW + HOUR + timedelta(seconds=300))

    prediction.refresh_from_db()
    assert (summary.awaiting_manual, prediction.status) == (1, Prediction.Status.AWAITING_MANUAL)
    assert prediction.verify_attempts == 3
    audit = VerificationAudit.objects.get()
    assert audit.kind == VerificationAudit.Kind.AWAITING_MANUAL and "no price of XAUUSD" in audit.note


def test_it_verifies_a_price_that_arrives_late_during_the_grace_period(alice):
    prediction = make_prediction(alice)
    verify(AFTER)
    add_tick(mid="2020", at=NOW + HOUR - timedelta(seconds=1))  # stamped before, stored after
    verify(AFTER + timedelta(seconds=60))
    prediction.refresh_from_db()
    assert prediction.correct_option.key == "A"


def test_it_waits_for_the_settle_delay_after_verify_time(alice):
    prediction = make_prediction(alice)
    add_tick(mid="2020", at=NOW + HOUR)
    assert verify(NOW + HOUR + timedelta(seconds=9)).batches == 0
    assert verify(NOW + HOUR + timedelta(seconds=10)).verified == 1
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.VERIFIED


def test_it_hands_manual_predictions_to_an_admin_with_the_price_recorded(alice):
    prediction = make_prediction(alice, verification="manual")
    add_tick(mid="2020", at=NOW + HOUR)
    assert verify(AFTER).awaiting_manual == 1
    prediction.refresh_from_db()
    assert (prediction.status, prediction.final_price) == (Prediction.Status.AWAITING_MANUAL, Decimal("2020"))


@pytest.mark.django_db(transaction=True)
def test_it_changes_nothing_when_run_again(alice, bob, broadcasts):
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    first = verify(AFTER)
    snapshot = (list(UserStats.objects.values()), list(Vote.objects.values()), Notification.objects.count(),
                VerificationAudit.objects.count(), len(broadcasts))

    second = verify(AFTER + timedelta(minutes=5))

    assert (first.verified, second.verified, second.batches) == (1, 0, 0)
    assert len(broadcasts) == 3  # "predictions", "prediction.<id>", "user.<bob>"
    assert snapshot == (list(UserStats.objects.values()), list(Vote.objects.values()),
                        Notification.objects.count(), VerificationAudit.objects.count(), len(broadcasts))
    prediction.refresh_from_db()
    assert prediction.verified_at == AFTER


def test_it_works_in_batches(alice, bob, settings):
    settings.PREDICTION_VERIFY_BATCH_SIZE = 2
    predictions = [make_prediction(alice, created=NOW + timedelta(seconds=i)) for i in range(5)]
    for p in predictions:
        vote(bob, p, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    summary = verify(AFTER)
    assert (summary.verified, summary.batches) == (5, 3)
    stats = UserStats.objects.get(user=bob)
    assert (stats.predictions_counted, stats.correct, stats.current_streak, stats.best_streak) == (5, 5, 5, 5)


def test_it_counts_streaks_across_runs_in_resolution_order(alice):
    voter = make_user("carol")
    results = []
    # correct, correct, wrong, correct, correct, correct, wrong, correct in three runs
    plan = [["A", "A", "D"], ["A", "A", "A"], ["D", "A"]]
    run_at = AFTER
    for run, keys in enumerate(plan):
        created = NOW + timedelta(days=run)
        for i, key in enumerate(keys):
            p = make_prediction(alice, created=created + timedelta(seconds=i))
            vote(voter, p, key, at=created + timedelta(seconds=30))
            results.append(key == "A")
        add_tick(mid="2020", at=created + HOUR)
        run_at = created + HOUR + timedelta(minutes=1)
        verify(run_at)
    stats = UserStats.objects.get(user=voter)
    assert (stats.predictions_counted, stats.correct) == (8, 6)
    assert (stats.current_streak, stats.best_streak) == (1, 3)
    assert stats.accuracy == pytest.approx(75.0)


@pytest.mark.django_db(transaction=True)
def test_it_notifies_voters_and_broadcasts_after_commit(alice, bob, broadcasts):
    prediction = make_prediction(alice)
    vote(alice, prediction, "A")
    vote(bob, prediction, "D")
    add_tick(mid="2020", at=NOW + HOUR)

    verify(AFTER)

    groups = [group for group, _ in broadcasts]
    assert groups.count("predictions") == 1 and groups.count(f"prediction.{prediction.pk}") == 1
    message = dict(broadcasts)["predictions"]
    assert message["type"] == "prediction.verified"
    assert message["prediction"]["correct_option"] == "A" and message["prediction"]["price_change_percent"] == 1.0
    personal = {group: message for group, message in broadcasts if group.startswith("user.")}
    assert personal[f"user.{bob.pk}"]["message"] == f"Your vote on #{prediction.pk} was not correct"
    assert personal[f"user.{alice.pk}"]["type"] == "notification"
    assert Notification.objects.filter(delivered_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_sends_nothing_when_the_transaction_rolls_back(alice, broadcasts, monkeypatch):
    from predictions.services import verification

    make_prediction(alice)
    add_tick(mid="2020", at=NOW + HOUR)

    def fail(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(verification, "stats_add_predictions", fail)
    with pytest.raises(RuntimeError):
        verify(AFTER)
    assert broadcasts == []
    assert Prediction.objects.get().status == Prediction.Status.ACTIVE


def test_it_is_the_registered_job_entry_point(alice):
    make_prediction(alice)
    add_tick(mid="2020", at=NOW + HOUR)
    assert verify_predictions(now=AFTER).startswith("verified 1, void 0")
