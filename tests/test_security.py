"""Production settings: `check --deploy` is clean; HSTS scope settings refuse what cannot work."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_SSL_REDIRECT")}
    environment.update({"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", **env})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_it_passes_the_deploy_checks_with_production_settings():
    done = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_it_fails_the_deploy_checks_with_a_weak_secret_key():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="short")
    assert done.returncode != 0
    assert "security.W009" in done.stderr + done.stdout


@pytest.mark.parametrize("env", [
    {"SECURE_HSTS_PRELOAD": "true"},
    {"SECURE_HSTS_PRELOAD": "true", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true"},
    {"SECURE_HSTS_PRELOAD": "true", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_SECONDS": "3600"},
    {"SECURE_HSTS_INCLUDE_SUBDOMAINS": "sometimes"},
])
def test_it_refuses_an_hsts_preload_the_list_would_refuse(env):
    done = _manage("check", **env)
    assert done.returncode != 0
    assert "SECURE_HSTS_" in done.stderr


def test_it_takes_a_preloadable_hsts_scope_when_asked():
    done = _manage("shell", "--no-imports", "-c", "from django.conf import settings as s; "
                   "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)",
                   SECURE_HSTS_PRELOAD="true", SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
                   SECURE_HSTS_SECONDS="31536000")
    assert done.stdout.split() == ["31536000", "True", "True"], done.stderr


def test_it_keeps_the_redis_password_out_of_readyz(client, settings):
    settings.REDIS_URL = "redis://:s3cret-pw@127.0.0.1:1/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.REDIS_URL}}
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.content.decode()
    assert "s3cret-pw" not in body
    assert "redis://:***@127.0.0.1:1/0" in body


@pytest.mark.parametrize(("admin_path", "actions"), [
    ("/admin/jobs/job/", ["run_now", "enable", "disable"]),
    ("/admin/news/newssource/", ["reenable"]),
])
def test_it_offers_admin_actions_only_to_those_who_may_change(client, db, admin_path, actions):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    app, model = admin_path.strip("/").split("/")[1:3]
    viewer = get_user_model().objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename=f"view_{model}", content_type__app_label=app))
    client.force_login(viewer)

    assert not set(actions) & _offered(client, admin_path)

    viewer.user_permissions.add(Permission.objects.get(codename=f"change_{model}", content_type__app_label=app))
    assert set(actions) <= _offered(client, admin_path)


def _offered(client, path: str) -> set[str]:
    page = client.get(path)
    assert page.status_code == 200
    form = page.context["action_form"]  # None when no action is allowed
    return {name for name, _label in form.fields["action"].choices} if form else set()


@pytest.mark.django_db
def test_it_asks_for_the_metrics_token_when_one_is_set(client, settings, redis_url):
    settings.METRICS_TOKEN = "scrape-secret"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "scrape-secret"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"goldsocial_" not in response.content
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200 and b"goldsocial_job_runs" in response.content


@pytest.mark.django_db
def test_it_leaves_metrics_open_without_a_token(client, settings, redis_url):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/api/nope/", 404),
    ("post", "/api/nope/", 404),
    ("get", "/api/", 404),
    ("get", "/api/predictions/not-a-number/", 404),
    ("get", "/api/prices", 404),  # no slash: a JSON answer too, not a redirect to an HTML page
    ("get", "/api/predictions/999999/", 404),
    ("put", "/api/prices/", 405),
    ("delete", "/api/news/", 405),
])
@pytest.mark.django_db
def test_every_api_answer_is_json(client, method, path, status, settings):
    settings.DEBUG = True  # as under `make run`: Django's own pages would be HTML
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_server_error_under_api_is_json():
    from django.test import RequestFactory

    from goldsocial.errors import server_error

    api = server_error(RequestFactory().get("/api/prices/"))
    assert (api.status_code, api["Content-Type"], json.loads(api.content)) == (
        500, "application/json", {"detail": "Server error.", "code": "server_error"})
    page = server_error(RequestFactory().get("/admin/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


PUBLIC_READS = ["/api/prices/", "/api/prices/XAUUSD/history/", "/api/news/", "/api/predictions/",
                "/api/predictions/1/", "/api/leaderboard/", "/jobs/status", "/api/schema/"]


@pytest.mark.parametrize("path", PUBLIC_READS)
@pytest.mark.django_db
def test_it_throttles_anonymous_reads_per_client_address(client, settings, redis_url, path):
    settings.ANON_READ_RATE = "2/minute"
    for _ in range(2):
        assert client.get(path).status_code != 429
    throttled = client.get(path)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    # Another address has its own allowance.
    assert client.get(path, REMOTE_ADDR="198.51.100.7").status_code != 429


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_reset_the_allowance(client, settings, redis_url):
    settings.ANON_READ_RATE = "2/minute"
    statuses = [client.get("/api/leaderboard/", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
                for i in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
def test_it_does_not_throttle_signed_in_readers(client, settings, redis_url):
    from django.contrib.auth import get_user_model

    settings.ANON_READ_RATE = "1/minute"
    client.force_login(get_user_model().objects.create(username="reader"))
    assert [client.get("/api/leaderboard/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.django_db
def test_it_throttles_news_searches_harder_than_browsing(client, settings, redis_url):
    settings.ANON_SEARCH_RATE = "1/minute"
    assert client.get("/api/news/?search=gold").status_code == 200
    assert client.get("/api/news/?search=silver").status_code == 429
    assert client.get("/api/news/").status_code == 200


@pytest.mark.django_db
def test_reads_go_on_when_the_throttle_cannot_reach_redis(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    assert client.get("/api/leaderboard/").status_code == 200


@pytest.mark.django_db
def test_an_ipv6_client_counts_as_its_64_network(client, settings, redis_url):
    settings.ANON_READ_RATE = "2/minute"
    statuses = [client.get("/api/leaderboard/", REMOTE_ADDR=f"2001:db8:1:2::{i}").status_code for i in range(1, 4)]
    assert statuses == [200, 200, 429]
    assert client.get("/api/leaderboard/", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("not an address", "not an address"),
])
def test_it_keys_allowances_by_ipv4_address_or_ipv6_network(address, key):
    from goldsocial.throttling import client_key

    assert client_key(address) == key
