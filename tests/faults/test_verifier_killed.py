"""A qcluster killed with SIGKILL in the middle of a verification batch, then restarted.

Hundreds of due predictions with thousands of votes, verified in small batches (one
transaction each) by a real qcluster; once some but not all are resolved the whole cluster
(its own session: main process and workers) gets SIGKILL. A new cluster finishes the work.
Afterwards: every prediction resolved exactly once, and each voter's statistics equal a
recomputation from the votes.
"""

import os
import signal
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from jobs.models import Job, JobRun
from jobs.services import job_update, schedules_sync
from markets.models import PriceTick
from predictions.models import Notification, Prediction, UserStats, VerificationAudit, Vote
from predictions.services.creation import prediction_create
from tests.predictions.factories import SEED_OPTIONS
from tests.processes import start_qcluster, wait_for

pytestmark = [pytest.mark.processes, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PREDICTIONS = 400
USERS = 30
BATCH = 5
MOVES = ["1.5", "0.4", "-0.2", "-2.0", "0"]  # percent, so every option wins somewhere
# The deadlines follow the real clock: bitcoin never closes, so on any day each one settles on
# the tick at its deadline (a closed market would send them to the last close instead).
SYMBOL = "BTCUSD"


def _tick(at: datetime, mid: Decimal) -> PriceTick:
    return PriceTick(symbol=SYMBOL, bid=mid - Decimal("0.1"), ask=mid + Decimal("0.1"), mid=mid,
                     timestamp=at, source="coinbase", fetched_at=at)


@pytest.fixture
def due_predictions(settings):
    settings.DEMO_MODE = False
    created = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    PriceTick.objects.bulk_create([_tick(created - timedelta(seconds=1), Decimal("2000"))])
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"voter{i}", password="!") for i in range(USERS)])
    predictions = []
    for i in range(PREDICTIONS):
        prediction, _ = prediction_create(
            creator=users[0], symbol=SYMBOL, question=f"Bitcoin #{i}?", verification="auto",
            verify_time=created + timedelta(hours=1, seconds=i), options=SEED_OPTIONS, now=created)
        predictions.append(prediction)
    # The price at each verify time: a different move for consecutive predictions.
    PriceTick.objects.bulk_create([
        _tick(p.verify_time - timedelta(milliseconds=500),
              Decimal("2000") * (1 + Decimal(MOVES[i % len(MOVES)]) / 100))
        for i, p in enumerate(predictions)])
    options = defaultdict(list)
    for p in predictions:
        options[p.pk] = list(p.options.order_by("position"))
    Vote.objects.bulk_create([
        Vote(user=u, prediction=p, option=options[p.pk][(j + i) % 4], created_at=created)
        for i, p in enumerate(predictions) for j, u in enumerate(users)])

    schedules_sync()
    for job in Job.objects.all():
        on = job.pk == "prediction_verifier"
        job_update(job=job, enabled=on, interval_seconds=1 if on else job.interval_seconds)


def _resolved() -> int:
    return Prediction.objects.exclude(status=Prediction.Status.ACTIVE).count()


def _expected_stats() -> dict[int, tuple[int, int, int, int]]:
    """(counted, correct, current streak, best streak) per user, walking the votes in order."""
    calls = defaultdict(list)
    votes = (Vote.objects.filter(prediction__status=Prediction.Status.VERIFIED)
             .select_related("prediction", "option").order_by("prediction__resolved_at", "prediction_id"))
    for vote in votes:
        calls[vote.user_id].append(vote.option_id == vote.prediction.correct_option_id)
    expected = {}
    for user, results in calls.items():
        current = best = 0
        for correct in results:
            current = current + 1 if correct else 0
            best = max(best, current)
        expected[user] = (len(results), sum(results), current, best)
    return expected


def test_it_verifies_every_prediction_once_after_a_killed_cluster(due_predictions, redis_url, tmp_path):
    env = {"PREDICTION_VERIFY_BATCH_SIZE": BATCH, "PREDICTION_NOTIFY_DELIVERY": "inline",
           "QCLUSTER_WORKERS": 2, "LOG_LEVEL": "WARNING"}
    first = start_qcluster(tmp_path / "qcluster1.log", **env)
    try:
        wait_for(_resolved, timeout=60, interval=0.02, what="the first verified batch")
        # The cluster is its own session: this kills it and its workers, nothing else.
        os.killpg(first.popen.pid, signal.SIGKILL)
        first.popen.wait(10)
    finally:
        first.stop()
    resolved_at_kill = _resolved()
    assert 0 < resolved_at_kill < PREDICTIONS, "the verifier finished before the kill: raise PREDICTIONS"

    # The killed run still holds the verifier's lease until django-q2's timeout (300 s) + 5 s
    # would have ended it; expire it instead of waiting (docs/RELIABILITY.md).
    Job.objects.filter(pk="prediction_verifier").update(lease_expires_at=datetime.now(UTC))
    second = start_qcluster(tmp_path / "qcluster2.log", **env)
    try:
        wait_for(lambda: _resolved() == PREDICTIONS, timeout=120, what="every prediction resolved")
    finally:
        code = second.stop()
    logs = first.output() + second.output()
    assert code == 0, logs

    statuses = set(Prediction.objects.values_list("status", flat=True))
    assert statuses == {Prediction.Status.VERIFIED}, statuses
    assert set(Prediction.objects.values_list("final_price_basis", flat=True)) == {"at_deadline"}
    audits = VerificationAudit.objects.values_list("prediction_id", flat=True)
    assert sorted(audits) == sorted(Prediction.objects.values_list("pk", flat=True))  # once each
    assert not Vote.objects.filter(is_correct__isnull=True).exists()
    assert Notification.objects.count() == PREDICTIONS * USERS  # one per vote, none twice
    for prediction in Prediction.objects.all()[:50]:
        assert prediction.correct_option.condition  # the matching option was recorded
    stored = {s.user_id: (s.predictions_counted, s.correct, s.current_streak, s.best_streak)
              for s in UserStats.objects.all()}
    assert stored == _expected_stats()
    assert JobRun.objects.filter(job_id="prediction_verifier", error__startswith="lost").exists(), logs
