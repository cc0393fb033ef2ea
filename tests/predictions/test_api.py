from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from markets.hours import market_is_open
from predictions.models import Notification, Prediction, PushSubscription, UserStats, Vote
from predictions.services.votes import VoteRefused, vote_cast
from tests.predictions.factories import SEED_OPTIONS, UP_DOWN_OPTIONS, add_tick, make_user

pytestmark = pytest.mark.django_db
URL = "/api/predictions/"


@pytest.fixture
def fresh_price(db):
    return add_tick(mid="2650.3", at=timezone.now() - timedelta(seconds=2))


def open_market_time():
    """A moment a day or so ahead when XAUUSD trades (no closed-market warning, whatever today is)."""
    at = timezone.now() + timedelta(days=1)
    while not market_is_open(symbol="XAUUSD", at=at):
        at += timedelta(hours=1)
    return at


def body(**overrides):
    data = {"symbol": "XAUUSD", "question": "Gold tomorrow?", "verification": "auto",
            "verify_time": open_market_time().isoformat(), "options": SEED_OPTIONS}
    data.update(overrides)
    return data


def test_it_creates_a_prediction_on_the_fresh_price(api, fresh_price):
    response = api.post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["base_price"], data["base_price_source"], data["status"]) == (2650.3, "swissquote", "active")
    assert [o["key"] for o in data["options"]] == ["A", "B", "C", "D"]
    assert data["warnings"] == []
    assert data["verify_time"].endswith("Z")


def test_it_accepts_a_gap_with_a_warning(api, fresh_price):
    response = api.post(URL, body(options=UP_DOWN_OPTIONS), format="json")
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "no option matches price_change_percent in {0}: such a result would be void"]


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"symbol": "DOGEUSD"}, "symbol", "unknown symbol 'DOGEUSD'"),
    ({"verify_time": "2020-01-01T00:00:00Z"}, "verify_time", "must be in the future"),
    ({"options": SEED_OPTIONS[:1]}, "options", "at least two options"),
    ({"options": [SEED_OPTIONS[0], {**SEED_OPTIONS[1], "key": "A"}]}, "options", "duplicate option keys: A"),
    ({"options": [SEED_OPTIONS[0], {**SEED_OPTIONS[1], "condition": "price_change_percent >> 1"}]}, "options",
     "option B: expected a number but found '>' at position 23"),
    ({"options": [SEED_OPTIONS[0], {**SEED_OPTIONS[1], "condition": "price_change_percent > 0"}]}, "options",
     "options A and B both match price_change_percent in [1.0, +inf)"),
    ({"options": [SEED_OPTIONS[0], {**SEED_OPTIONS[1], "condition": ""}]}, "options",
     "automatic verification needs a condition"),
    ({"question": "   "}, "question", "may not be blank"),
])
def test_it_refuses_bad_predictions_with_field_errors(api, fresh_price, overrides, field, fragment):
    response = api.post(URL, body(**overrides), format="json")
    assert response.status_code == 400
    assert fragment in " ".join(response.json()[field]), response.json()
    assert not Prediction.objects.exists()


@pytest.mark.parametrize("payload", [
    {"symbol": "XAUUSD"},
    {"symbol": "XAUUSD", "question": "q", "verify_time": "tomorrow", "options": []},
    {"symbol": "XAUUSD", "question": "q", "verify_time": "2030-01-01T00:00:00Z", "verification": "magic",
     "options": SEED_OPTIONS},
    {"symbol": "XAUUSD", "question": "q", "verify_time": "2030-01-01T00:00:00Z", "options": "A,B"},
])
def test_it_refuses_malformed_bodies(api, fresh_price, payload):
    assert api.post(URL, payload, format="json").status_code == 400


def test_it_refuses_without_a_fresh_price(api, db):
    add_tick(mid="2650", at=timezone.now() - timedelta(seconds=45))
    response = api.post(URL, body(), format="json")
    assert response.status_code == 400
    assert "no fresh price for XAUUSD" in response.json()["symbol"][0]


def test_it_refuses_a_simulated_price_outside_demo_mode(api, settings, db):
    add_tick(mid="2650", at=timezone.now(), source="simulated")
    assert api.post(URL, body(), format="json").status_code == 400
    settings.DEMO_MODE = True
    assert api.post(URL, body(), format="json").status_code == 201


def test_it_lets_manual_predictions_go_without_conditions(api, fresh_price):
    options = [{"key": "Y", "text": "yes"}, {"key": "N", "text": "no"}]
    response = api.post(URL, body(verification="manual", options=options), format="json")
    assert response.status_code == 201


def test_it_requires_authentication_to_create(fresh_price):
    assert APIClient().post(URL, body(), format="json").status_code in (401, 403)


def test_it_accepts_token_authentication(fresh_price, alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    assert client.post(URL, body(), format="json").status_code == 201


def test_it_throttles_creation_and_votes(api, fresh_price, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads the rates once at import; the settings' values are checked in test_settings.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"prediction_create": "2/hour",
                                                               "prediction_vote": "1/hour"})
    codes = [api.post(URL, body(), format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert api.get(URL).status_code == 200  # reading is not throttled
    pk = Prediction.objects.first().pk
    assert api.post(f"{URL}{pk}/vote/", {"option": "A"}, format="json").status_code == 201
    assert api.post(f"{URL}{pk}/vote/", {"option": "A"}, format="json").status_code == 429


def _create(api):
    return api.post(URL, body(), format="json").json()["id"]


def test_it_takes_one_vote_per_user(api, fresh_price):
    pk = _create(api)
    assert api.post(f"{URL}{pk}/vote/", {"option": "B"}, format="json").status_code == 201
    second = api.post(f"{URL}{pk}/vote/", {"option": "C"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "duplicate"
    assert Vote.objects.get().option.key == "B"


def test_it_refuses_votes_on_unknown_options_and_predictions(api, fresh_price):
    pk = _create(api)
    response = api.post(f"{URL}{pk}/vote/", {"option": "Z"}, format="json")
    assert response.status_code == 400 and "unknown option 'Z'" in response.json()["option"][0]
    assert api.post(f"{URL}{pk}/vote/", {}, format="json").status_code == 400
    assert api.post(f"{URL}999999/vote/", {"option": "A"}, format="json").status_code == 404


def test_it_closes_voting_when_voting_closes(api, fresh_price, bob):
    pk = _create(api)
    prediction = Prediction.objects.get(pk=pk)
    with pytest.raises(VoteRefused, match="closed"):
        vote_cast(user=bob, prediction=prediction, option_key="A", now=prediction.voting_closes_at)
    Prediction.objects.filter(pk=pk).update(verify_time=timezone.now() - timedelta(seconds=1))
    response = api.post(f"{URL}{pk}/vote/", {"option": "A"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "closed"


def test_it_refuses_votes_from_anonymous_users(api, fresh_price):
    pk = _create(api)
    assert APIClient().post(f"{URL}{pk}/vote/", {"option": "A"}, format="json").status_code in (401, 403)


def test_it_lists_and_filters_predictions_with_vote_counts(api, fresh_price, bob, settings):
    settings.PREDICTION_HIDE_VOTES_UNTIL_CLOSE = False
    first, second = _create(api), _create(api)
    add_tick(symbol="BTCUSD", mid="90000", at=timezone.now())
    third = api.post(URL, body(symbol="btcusd"), format="json").json()["id"]
    Prediction.objects.filter(pk=second).update(status=Prediction.Status.VOID)
    vote_cast(user=bob, prediction=Prediction.objects.get(pk=first), option_key="A", now=timezone.now())

    assert [p["id"] for p in api.get(URL).json()["results"]] == [third, second, first]
    assert [p["id"] for p in api.get(URL, {"status": "active", "symbol": "XAUUSD"}).json()["results"]] == [first]
    assert [p["id"] for p in api.get(URL, {"symbol": "BTCUSD"}).json()["results"]] == [third]
    assert api.get(URL, {"status": "sleeping"}).status_code == 400
    detail = APIClient().get(f"{URL}{first}/").json()
    assert {o["key"]: o["votes"] for o in detail["options"]} == {"A": 1, "B": 0, "C": 0, "D": 0}
    assert api.get(f"{URL}424242/").status_code == 404


def test_it_paginates_the_list(api, fresh_price):
    for _ in range(3):
        _create(api)
    page = api.get(URL, {"page_size": 2}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (3, 2, True)


def test_it_serves_the_leaderboard_and_my_stats(api, alice, bob):
    carol = make_user("carol")
    UserStats.objects.create(user=alice, predictions_counted=10, correct=5, current_streak=1, best_streak=3)
    UserStats.objects.create(user=bob, predictions_counted=4, correct=4, current_streak=4, best_streak=4)
    UserStats.objects.create(user=carol, predictions_counted=0, correct=0)

    board = APIClient().get("/api/leaderboard/").json()["results"]
    assert [(row["user"], row["accuracy"]) for row in board] == [("alice", 50.0), ("bob", 100.0)]
    by_accuracy = APIClient().get("/api/leaderboard/", {"ordering": "accuracy"}).json()["results"]
    assert [row["user"] for row in by_accuracy] == ["bob", "alice"]
    assert APIClient().get("/api/leaderboard/", {"ordering": "luck"}).status_code == 400
    assert APIClient().get("/api/leaderboard/", {"min_predictions": "-1"}).status_code == 400
    assert [r["user"] for r in APIClient().get("/api/leaderboard/", {"min_predictions": 5}).json()["results"]] == [
        "alice"]

    mine = api.get("/api/me/stats/").json()
    assert mine == {"user": "alice", "predictions_counted": 10, "correct": 5, "accuracy": 50.0,
                    "current_streak": 1, "best_streak": 3}
    assert APIClient().get("/api/me/stats/").status_code in (401, 403)


@pytest.mark.parametrize("raw", ["²", "1.5", "", "١٢x"])
def test_it_refuses_a_min_predictions_that_is_not_a_whole_number_with_400(db, raw):
    # "²" is a digit to str.isdigit() that int() refuses: it used to be a server error.
    response = APIClient().get("/api/leaderboard/", {"min_predictions": raw})
    assert response.status_code == 400
    assert "min_predictions" in response.json()


def test_it_shows_zero_stats_before_the_first_counted_call(api):
    assert api.get("/api/me/stats/").json()["predictions_counted"] == 0


def test_it_lists_notifications_and_marks_them_read(api, alice, bob, fresh_price):
    pk = _create(api)
    for user in (alice, bob):
        Notification.objects.create(user=user, prediction_id=pk, kind="vote_result", is_correct=True,
                                    created_at=timezone.now())
    inbox = api.get("/api/notifications/").json()["results"]
    assert len(inbox) == 1 and inbox[0]["message"] == f"Your vote on #{pk} was correct"
    assert api.post("/api/notifications/read/", {"ids": [inbox[0]["id"]]}, format="json").json() == {
        "marked_read": 1}
    assert api.get("/api/notifications/", {"unread": "true"}).json()["results"] == []
    assert Notification.objects.get(user=bob).read_at is None
    assert api.post("/api/notifications/read/", {"ids": ["x"]}, format="json").status_code == 400
    assert APIClient().get("/api/notifications/").status_code in (401, 403)


def test_it_refuses_a_notification_id_beyond_64_bits_with_400(api):
    # The database cannot compare with it: it used to be a server error.
    response = api.post("/api/notifications/read/", {"ids": [1, 2**63]}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()


def test_it_registers_and_forgets_a_push_subscription(api, alice, settings):
    settings.VAPID_PUBLIC_KEY = "BPublicKey"
    subscription = {"endpoint": "https://push.example.test/send/abc", "keys": {"p256dh": "BAbc-_", "auth": "xyz"}}
    assert api.get("/api/push/subscriptions/").json() == {"vapid_public_key": "BPublicKey"}
    assert api.post("/api/push/subscriptions/", subscription, format="json").status_code == 201
    assert api.post("/api/push/subscriptions/", subscription, format="json").status_code == 201  # idempotent
    assert PushSubscription.objects.get().user == alice
    bad = {"endpoint": "not a url", "keys": {"p256dh": "a b", "auth": ""}}
    assert set(api.post("/api/push/subscriptions/", bad, format="json").json()) == {"endpoint", "keys"}
    assert api.delete("/api/push/subscriptions/", {"endpoint": subscription["endpoint"]},
                      format="json").status_code == 204
    assert not PushSubscription.objects.exists()


def test_it_documents_every_endpoint_in_the_openapi_schema(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    paths = set(schema["paths"])
    assert {"/api/predictions/", "/api/predictions/{id}/", "/api/predictions/{id}/vote/", "/api/leaderboard/",
            "/api/me/stats/", "/api/notifications/", "/api/notifications/read/", "/api/push/subscriptions/"} <= paths
    assert "requestBody" in schema["paths"]["/api/predictions/{id}/vote/"]["post"]


@pytest.mark.parametrize(("endpoint", "says"), [
    ("https://127.0.0.1/x", "127.0.0.1 is a loopback address"),
    ("https://[::1]/x", "::1 is a loopback address"),
    ("https://10.0.0.1/x", "10.0.0.1 is a private address"),
    ("https://169.254.169.254/x", "169.254.169.254 is a link-local address"),
    ("https://localhost/x", "localhost resolves to 127.0.0.1, a loopback address"),
])
def test_it_refuses_a_push_endpoint_on_an_internal_address(api, settings, endpoint, says):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the default; the tests otherwise allow loopback
    response = api.post("/api/push/subscriptions/", {"endpoint": endpoint, "keys": {"p256dh": "BAbc", "auth": "xyz"}},
                        format="json")
    assert response.status_code == 400
    assert says in response.json()["endpoint"][0]
    assert not PushSubscription.objects.exists()


def test_it_refuses_a_push_endpoint_that_is_not_https_even_in_debug(api, settings):
    settings.DEBUG = True
    response = api.post("/api/push/subscriptions/", {"endpoint": "http://push.example.test/send/abc",
                                                     "keys": {"p256dh": "BAbc", "auth": "xyz"}}, format="json")
    assert response.status_code == 400
    assert response.json()["endpoint"] == ["a push endpoint must be https://"]
