"""Liveness, readiness and Prometheus metrics."""

import hmac
import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from goldsocial.env import redact_url

logger = logging.getLogger(__name__)

REDIS_HINT = (
    "start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379`, point REDIS_URL at a "
    "running server, or leave REDIS_URL unset for `make run` to start a private one"
)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database: {type(exc).__name__}: {exc}".strip()
    return None


def check_redis() -> str | None:
    from django.conf import settings

    try:
        cache.get("goldsocial:ping")
    except Exception as exc:
        return f"Redis at {redact_url(settings.REDIS_URL)} does not answer ({type(exc).__name__}): {REDIS_HINT}"
    return None


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    from jobs.selectors import live_clusters

    problems = [p for p in (check_database(), check_redis()) if p]
    if not problems:
        clusters = live_clusters()
        if not clusters:
            problems.append("cluster: no live qcluster (start `python manage.py qcluster`)")
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})


class _Collectors:
    """Adapts the project's collector functions to prometheus_client's registry."""

    functions: list = []

    def collect(self):
        for function in self.functions:
            try:
                yield from function()
            except Exception:
                logger.exception("metrics collector %s failed", function.__name__)


def metrics_collector(function):
    """Register a function yielding prometheus_client metric families, read on each scrape.

    Values come from the database and Redis at scrape time, so every web process reports
    the same figures and nothing is lost across process restarts.
    """
    _Collectors.functions.append(function)
    return function


def metrics(request):
    from django.conf import settings

    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {settings.METRICS_TOKEN}".encode()):
            response = HttpResponse("401: send Authorization: Bearer <METRICS_TOKEN>\n", status=401,
                                    content_type="text/plain; charset=utf-8")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collectors())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
