"""Production settings: `check --deploy` is clean; HSTS scope settings refuse what cannot work."""

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
