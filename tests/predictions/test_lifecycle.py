"""The prediction lifecycle: voting closes before verify_time, counts hidden until then, cancelling."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from goldsocial.timefmt import iso_ms
from predictions.models import Notification, Prediction, UserStats, VerificationAudit, Vote
from predictions.services.cancellation import CancellationRefused, prediction_cancel
from predictions.services.creation import PredictionRefused, prediction_create
from predictions.services.votes import VoteRefused
from tests.predictions.factories import NOW, SEED_OPTIONS, add_tick, make_prediction, make_user, verify, vote
from tests.predictions.test_concurrency import in_thread

pytestmark = pytest.mark.django_db
URL = "/api/predictions/"
HOUR = timedelta(hours=1)


def _create_at(creator, *, verify_in, now=NOW):
    add_tick(at=now - timedelta(seconds=1))
    return prediction_create(creator=creator, symbol="XAUUSD", question="Gold?", verify_time=now + verify_in,
                             verification="auto", options=SEED_OPTIONS, now=now)


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- voting closes PREDICTION_VOTE_CLOSE_SECONDS before verify_time ------------------------------

def test_it_refuses_a_verify_time_inside_the_closing_window(alice):
    with pytest.raises(PredictionRefused) as info:
        _create_at(alice, verify_in=timedelta(seconds=60))
    assert list(info.value.errors) == ["verify_time"]
    assert "more than 60 s in the future: voting closes 60 s before verify_time" in info.value.errors["verify_time"][0]
    prediction, _ = _create_at(alice, verify_in=timedelta(seconds=61))
    assert prediction.voting_closes_at == NOW + timedelta(seconds=1)


def test_it_answers_a_too_early_verify_time_with_a_field_error(api, settings):
    settings.PREDICTION_VOTE_CLOSE_SECONDS = 300
    add_tick(at=timezone.now() - timedelta(seconds=1))
    soon = (timezone.now() + timedelta(seconds=200)).isoformat()
    response = api.post(URL, {"symbol": "XAUUSD", "question": "q", "verify_time": soon, "options": SEED_OPTIONS},
                        format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["verify_time"]
    assert "more than 300 s in the future" in response.json()["verify_time"][0]


def test_it_takes_any_future_verify_time_when_the_window_is_zero(alice, settings):
    settings.PREDICTION_VOTE_CLOSE_SECONDS = 0
    prediction, _ = _create_at(alice, verify_in=timedelta(seconds=1))
    assert prediction.voting_closes_at == prediction.verify_time
    with pytest.raises(PredictionRefused):
        _create_at(alice, verify_in=timedelta(0))


def test_it_takes_votes_until_voting_closes_and_not_after(alice, bob):
    prediction = make_prediction(alice)
    closes = prediction.verify_time - timedelta(seconds=60)
    assert prediction.voting_closes_at == closes
    with pytest.raises(VoteRefused, match=f"closed at {closes:%Y-%m-%dT%H:%M:%S}") as info:
        vote(bob, prediction, "A", at=closes)
    assert info.value.code == "closed"
    assert vote(bob, prediction, "A", at=closes - timedelta(milliseconds=1)).option.key == "A"


def test_the_api_says_when_voting_closes(api, alice):
    prediction = make_prediction(alice, created=timezone.now())
    data = client_for().get(f"{URL}{prediction.pk}/").json()
    assert data["voting_closes_at"] == iso_ms(prediction.verify_time - timedelta(seconds=60))


# --- vote counts hidden until voting closes -------------------------------------------------------

def _open_with_votes(alice, bob):
    # Created now, so that "now" in the API is before voting closes.
    prediction = make_prediction(alice, created=timezone.now())
    vote(bob, prediction, "A", at=timezone.now())
    return prediction


def _counts(client, prediction, *, listed=False):
    if listed:
        item = next(p for p in client.get(URL).json()["results"] if p["id"] == prediction.pk)
    else:
        item = client.get(f"{URL}{prediction.pk}/").json()
    return {o["key"]: o["votes"] for o in item["options"]}


HIDDEN = {"A": None, "B": None, "C": None, "D": None}
SHOWN = {"A": 1, "B": 0, "C": 0, "D": 0}


@pytest.mark.parametrize("listed", [False, True], ids=["detail", "list"])
def test_it_hides_vote_counts_from_everyone_but_staff_until_voting_closes(alice, bob, listed):
    prediction = _open_with_votes(alice, bob)
    assert _counts(client_for(), prediction, listed=listed) == HIDDEN
    assert _counts(client_for(bob), prediction, listed=listed) == HIDDEN
    assert _counts(client_for(alice), prediction, listed=listed) == HIDDEN  # the creator too
    assert _counts(client_for(make_user("staff", is_staff=True)), prediction, listed=listed) == SHOWN


def test_it_shows_vote_counts_once_voting_has_closed(alice, bob):
    prediction = _open_with_votes(alice, bob)
    Prediction.objects.filter(pk=prediction.pk).update(verify_time=timezone.now() + timedelta(seconds=59))
    assert _counts(client_for(), prediction) == SHOWN


@pytest.mark.parametrize("status", ["verified", "void", "cancelled", "awaiting_manual"])
def test_it_shows_vote_counts_of_a_prediction_no_longer_active(alice, bob, status):
    prediction = _open_with_votes(alice, bob)
    Prediction.objects.filter(pk=prediction.pk).update(status=status)
    assert _counts(client_for(), prediction) == SHOWN


def test_it_shows_vote_counts_when_the_setting_is_off(alice, bob, settings):
    settings.PREDICTION_HIDE_VOTES_UNTIL_CLOSE = False
    prediction = _open_with_votes(alice, bob)
    assert _counts(client_for(), prediction) == SHOWN


def test_the_created_prediction_hides_its_counts_too(api, fresh_price_now):
    body = {"symbol": "XAUUSD", "question": "q", "verify_time": (timezone.now() + HOUR).isoformat(),
            "options": SEED_OPTIONS}
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    assert [o["votes"] for o in response.json()["options"]] == [None] * 4


@pytest.fixture
def fresh_price_now(db):
    return add_tick(at=timezone.now() - timedelta(seconds=1))


# --- cancelling -----------------------------------------------------------------------------------

def cancel_url(prediction):
    return f"{URL}{prediction.pk}/cancel/"


@pytest.mark.django_db(transaction=True)
def test_the_creator_cancels_a_prediction_without_votes(alice, broadcasts):
    prediction = make_prediction(alice, created=timezone.now())
    response = client_for(alice).post(cancel_url(prediction), {"note": "asked the wrong question"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.CANCELLED
    audit = VerificationAudit.objects.get(prediction=prediction)
    assert (audit.kind, audit.by, audit.previous_status, audit.new_status, audit.note) == (
        "cancelled", alice, "active", "cancelled", "asked the wrong question")
    assert sorted(group for group, _ in broadcasts) == [f"prediction.{prediction.pk}", "predictions"]
    message = dict(broadcasts)["predictions"]
    assert message["type"] == "prediction.cancelled"
    assert (message["prediction"]["id"], message["prediction"]["status"]) == (prediction.pk, "cancelled")


@pytest.mark.django_db(transaction=True)
def test_staff_cancel_a_voted_prediction_and_voters_are_told_with_no_statistics_touched(alice, bob, broadcasts):
    carol = make_user("carol")
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    vote(carol, prediction, "B")
    UserStats.objects.create(user=bob, predictions_counted=3, correct=2, current_streak=1, best_streak=2)
    staff = make_user("staff", is_staff=True)

    prediction_cancel(prediction_id=prediction.pk, by=staff, now=NOW + timedelta(minutes=5))

    assert list(Vote.objects.values_list("is_correct", flat=True)) == [None, None]
    stats = UserStats.objects.get()
    assert (stats.user, stats.predictions_counted, stats.correct, stats.current_streak, stats.best_streak) == (
        bob, 3, 2, 1, 2)
    notes = Notification.objects.order_by("user_id")
    assert [(n.user, n.kind, n.is_correct) for n in notes] == [(bob, "cancelled", None), (carol, "cancelled", None)]
    assert all(n.delivered_at is not None for n in notes)
    personal = {group: message for group, message in broadcasts if group.startswith("user.")}
    assert personal[f"user.{bob.pk}"]["message"] == f"#{prediction.pk} was cancelled: your vote does not count"
    assert personal[f"user.{carol.pk}"]["kind"] == "cancelled"
    # Nothing more happens to it: no votes, no verification.
    with pytest.raises(VoteRefused):
        vote(make_user("dave"), prediction, "C")
    add_tick(mid="2100", at=prediction.verify_time)
    verify(prediction.verify_time + HOUR)
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.CANCELLED


def test_staff_cancel_a_prediction_awaiting_manual_verification(alice):
    prediction = make_prediction(alice)
    Prediction.objects.filter(pk=prediction.pk).update(status=Prediction.Status.AWAITING_MANUAL)
    cancelled = prediction_cancel(prediction_id=prediction.pk, by=make_user("staff", is_staff=True), now=NOW)
    assert cancelled.status == Prediction.Status.CANCELLED
    assert VerificationAudit.objects.get().previous_status == "awaiting_manual"


def test_the_creator_cannot_cancel_once_someone_has_voted(alice, bob):
    prediction = make_prediction(alice, created=timezone.now())
    vote(bob, prediction, "A", at=timezone.now())
    response = client_for(alice).post(cancel_url(prediction), format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "has_votes", "detail": f"#{prediction.pk} has 1 vote: once someone has "
                                                               "voted only staff may cancel it"}
    assert Prediction.objects.get().status == "active" and not VerificationAudit.objects.exists()


def test_only_the_creator_or_staff_may_cancel(alice, bob):
    prediction = make_prediction(alice, created=timezone.now())
    response = client_for(bob).post(cancel_url(prediction), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_yours" and "not yours" in response.json()["detail"]
    assert client_for().post(cancel_url(prediction), format="json").status_code == 403
    assert Prediction.objects.get().status == "active"


@pytest.mark.parametrize(("status", "code"), [("verified", "already_resolved"), ("void", "already_resolved"),
                                              ("cancelled", "already_cancelled")])
def test_it_refuses_to_cancel_a_resolved_or_cancelled_prediction(alice, status, code):
    prediction = make_prediction(alice, created=timezone.now())
    Prediction.objects.filter(pk=prediction.pk).update(status=status)
    for user in (alice, make_user("staff", is_staff=True)):
        response = client_for(user).post(cancel_url(prediction), format="json")
        assert response.status_code == 409
        assert response.json()["code"] == code and f"already {status}" in response.json()["detail"]
    assert not VerificationAudit.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"note": "x" * 2001}, "note"),
    ({"note": ["a", "list"]}, "note"),
    ({"note": 0}, "note"),
    (["not", "an", "object"], "non_field_errors"),
])
def test_it_answers_a_bad_cancel_body_with_field_errors(alice, body, field):
    prediction = make_prediction(alice, created=timezone.now())
    response = client_for(alice).post(cancel_url(prediction), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Prediction.objects.get().status == "active"


def test_it_answers_404_for_an_unknown_prediction(alice):
    assert client_for(alice).post(f"{URL}424242/cancel/", format="json").status_code == 404


def test_the_admin_action_cancels_and_reports_what_it_could_not(alice, bob, client):
    open_one, verified = make_prediction(alice), make_prediction(alice, created=NOW + timedelta(seconds=1))
    vote(bob, open_one, "A")
    Prediction.objects.filter(pk=verified.pk).update(status=Prediction.Status.VERIFIED)
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post("/admin/predictions/prediction/", {
        "action": "cancel_selected", "_selected_action": [open_one.pk, verified.pk]}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert f"cancelled #{open_one.pk}" in shown
    assert f"#{verified.pk} is already verified: a resolved prediction cannot be cancelled" in shown
    assert dict(Prediction.objects.values_list("pk", "status")) == {open_one.pk: "cancelled", verified.pk: "verified"}
    assert VerificationAudit.objects.get().by.username == "root"


def test_the_admin_action_needs_the_change_permission(alice, client):
    prediction = make_prediction(alice)
    viewer = make_user("viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_prediction"))
    client.force_login(viewer)
    page = client.get("/admin/predictions/prediction/")
    assert page.status_code == 200 and b"cancel_selected" not in page.content
    client.post("/admin/predictions/prediction/", {"action": "cancel_selected", "_selected_action": [prediction.pk]})
    assert Prediction.objects.get().status == "active"


# --- the race with the verifier (PostgreSQL: row locks) -------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancel_waits_for_a_verifier_holding_the_row_then_refuses(alice, postgres):
    from django.db import transaction

    prediction = make_prediction(alice)
    add_tick(mid="2020", at=NOW + HOUR)
    staff = make_user("staff", is_staff=True)
    locked, release = threading.Event(), threading.Event()
    results = {}

    def verifier_holding_the_row():
        # What the verifier does: claim (FOR UPDATE), write the outcome, commit.
        with transaction.atomic():
            Prediction.objects.select_for_update().get(pk=prediction.pk)
            locked.set()
            release.wait(10)
            Prediction.objects.filter(pk=prediction.pk).update(status=Prediction.Status.VERIFIED)

    holder = in_thread(verifier_holding_the_row, results, "verifier")
    canceller = in_thread(lambda: prediction_cancel(prediction_id=prediction.pk, by=staff, now=NOW + HOUR),
                          results, "cancel")
    holder.start()
    assert locked.wait(10)
    canceller.start()
    canceller.join(0.5)
    assert canceller.is_alive()  # waiting on the row lock, not reading the old status
    release.set()
    holder.join()
    canceller.join(10)

    assert isinstance(results["cancel"], CancellationRefused), results
    assert results["cancel"].code == "already_resolved"
    assert Prediction.objects.get().status == "verified"
    assert not VerificationAudit.objects.filter(kind="cancelled").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_verifier_skips_a_prediction_being_cancelled_and_leaves_it_cancelled(alice, bob, postgres,
                                                                                    monkeypatch):
    from predictions.services import cancellation

    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    staff = make_user("staff", is_staff=True)
    holding, release = threading.Event(), threading.Event()
    count_votes = cancellation.Vote.objects.filter

    def slow_filter(*args, **kwargs):
        # prediction_cancel's vote count, right after it took the row lock: hold it there once.
        if not holding.is_set():
            holding.set()
            release.wait(10)
        return count_votes(*args, **kwargs)

    monkeypatch.setattr(cancellation.Vote.objects, "filter", slow_filter)
    results = {}
    canceller = in_thread(lambda: prediction_cancel(prediction_id=prediction.pk, by=staff, now=NOW + HOUR),
                          results, "cancel")
    canceller.start()
    assert holding.wait(10)
    summary = verify(NOW + 2 * HOUR)  # SKIP LOCKED: does not wait, does not resolve it
    release.set()
    canceller.join(10)

    assert (summary.verified, summary.void) == (0, 0)
    assert results["cancel"].status == "cancelled"
    assert verify(NOW + 3 * HOUR).verified == 0
    assert Prediction.objects.get().status == "cancelled"
    assert list(Vote.objects.values_list("is_correct", flat=True)) == [None]
    assert not UserStats.objects.exists()
