import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from predictions.models import Prediction, UserStats, VerificationAudit, Vote
from predictions.services.verification import (
    VerifySummary,
    outcomes_write,
    prediction_verify_manual,
    predictions_verify_due,
)
from predictions.services.votes import VoteRefused, vote_cast
from tests.predictions.factories import NOW, add_tick, make_prediction, make_user, verify, vote

HOUR = timedelta(hours=1)
AFTER = NOW + HOUR + timedelta(minutes=1)


def in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as exc:  # surfaced by the test's assertions
            results[key] = exc
        finally:
            connection.close()
    return threading.Thread(target=run)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_resolves_each_prediction_once_with_two_verifiers_racing(alice, settings, postgres):
    settings.PREDICTION_VERIFY_BATCH_SIZE = 5
    voters = [make_user(f"v{i}") for i in range(5)]
    predictions = [make_prediction(alice, created=NOW + timedelta(milliseconds=i)) for i in range(60)]
    for p in predictions:
        for user in voters:
            vote(user, p, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    barrier = threading.Barrier(2)
    results = {}

    def verifier():
        barrier.wait()
        return predictions_verify_due(now=AFTER)

    threads = [in_thread(verifier, results, name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(r, VerifySummary) for r in results.values()), results
    assert results["first"].verified + results["second"].verified == 60
    assert not set(results["first"].verified_ids) & set(results["second"].verified_ids)
    assert VerificationAudit.objects.count() == 60
    assert set(Prediction.objects.values_list("status", flat=True)) == {"verified"}
    assert [(s.predictions_counted, s.correct, s.best_streak) for s in UserStats.objects.all()] == [(60, 60, 60)] * 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_skips_a_prediction_another_worker_holds(alice, postgres):
    held, other = make_prediction(alice), make_prediction(alice, created=NOW + timedelta(seconds=1))
    add_tick(mid="2020", at=NOW + HOUR)
    locked, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            Prediction.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)

    results = {}
    thread = in_thread(holder, results, "holder")
    thread.start()
    locked.wait(10)
    try:
        summary = verify(AFTER)  # does not wait for the held row
    finally:
        release.set()
        thread.join()
    assert summary.verified_ids == [other.pk]
    assert Prediction.objects.get(pk=held.pk).status == Prediction.Status.ACTIVE
    assert verify(AFTER + timedelta(minutes=1)).verified_ids == [held.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_lets_an_admin_and_the_verifier_meet_without_double_counting(alice, bob, postgres):
    operator = make_user("operator", is_staff=True)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    barrier = threading.Barrier(2)
    results = {}

    def admin():
        barrier.wait()
        return prediction_verify_manual(prediction_id=prediction.pk, option_key="D", note="by hand",
                                        by=operator, now=AFTER)

    def verifier():
        barrier.wait()
        return verify(AFTER)

    threads = [in_thread(admin, results, "admin"), in_thread(verifier, results, "verifier")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Whichever came first, the admin's choice stands and bob's one vote is counted once.
    prediction.refresh_from_db()
    assert prediction.correct_option.key == "D"
    stats = UserStats.objects.get(user=bob)
    assert (stats.predictions_counted, stats.correct) == (1, 0)
    assert Vote.objects.get().is_correct is False


@pytest.mark.django_db
def test_it_writes_nothing_over_a_prediction_resolved_in_the_meantime(alice):
    """The compare-and-set of the write step (the only guard on SQLite)."""
    prediction = make_prediction(alice)
    Prediction.objects.filter(pk=prediction.pk).update(status=Prediction.Status.VERIFIED)
    row = {"id": prediction.pk, "status": "void", "final_price": None, "final_price_at": None,
           "final_price_source": "", "final_price_basis": "",
           "price_change_percent": None, "correct_option_id": None, "resolved_at": AFTER,
           "verified_at": AFTER, "verify_attempts": 1, "last_attempt_at": AFTER}
    assert outcomes_write(rows=[row]) == set()
    assert Prediction.objects.get().status == Prediction.Status.VERIFIED
    assert outcomes_write(rows=[{**row, "id": make_prediction(alice).pk}]) != set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_vote_that_meets_a_verification_in_progress(alice, bob, postgres):
    prediction = make_prediction(alice)  # loaded while active, as a vote request would
    locked = threading.Event()

    def verifier_like():
        with transaction.atomic():
            list(Prediction.objects.select_for_update().filter(pk=prediction.pk))  # as the verifier claims
            Prediction.objects.filter(pk=prediction.pk).update(status=Prediction.Status.VOID)
            locked.set()
            threading.Event().wait(0.3)  # the vote's insert waits on this row lock meanwhile

    results = {}
    thread = in_thread(verifier_like, results, "verifier")
    thread.start()
    locked.wait(10)
    with pytest.raises(VoteRefused) as refused:
        vote_cast(user=bob, prediction=prediction, option_key="A", now=NOW + timedelta(minutes=1))
    thread.join()
    assert refused.value.code == "closed"
    assert not Vote.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_resolves_each_prediction_once_when_price_cycle_runs_and_the_sweep_race(alice, settings, postgres):
    """Runs asked for by price cycles (first attempts only) and the sweep, all at once, before the
    settle delay: the tick stamped after verify_time made them due."""
    settings.PREDICTION_VERIFY_BATCH_SIZE = 5
    voters = [make_user(f"v{i}") for i in range(3)]
    predictions = [make_prediction(alice, created=NOW + timedelta(milliseconds=i)) for i in range(40)]
    for p in predictions:
        for user in voters:
            vote(user, p, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    add_tick(mid="2030", at=NOW + HOUR + timedelta(seconds=1))
    soon = NOW + HOUR + timedelta(seconds=2)  # the settle delay (10 s) has not passed
    barrier = threading.Barrier(3)
    results = {}

    def verifier(first_attempts_only):
        def run():
            barrier.wait()
            return predictions_verify_due(now=soon, first_attempts_only=first_attempts_only)
        return run

    threads = [in_thread(verifier(first), results, name)
               for name, first in (("cycle1", True), ("cycle2", True), ("sweep", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(r, VerifySummary) for r in results.values()), results
    assert sum(r.verified for r in results.values()) == 40
    ids = [pk for r in results.values() for pk in r.verified_ids]
    assert len(ids) == len(set(ids)) == 40
    assert VerificationAudit.objects.count() == 40
    assert [(s.predictions_counted, s.correct) for s in UserStats.objects.all()] == [(40, 40)] * 3
