from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from goldsocial import auth_api, errors, health

handler500 = "goldsocial.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Our template: the stock one loads its fonts from Google.
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"), name="redoc"),
    path("api/auth/token/", auth_api.AuthToken.as_view(), name="auth-token"),
    path("", include("jobs.urls")),
    path("api/", include("markets.urls")),
    path("api/", include("news.urls")),
    path("api/", include("predictions.urls")),
    path("", include("realtime.urls")),
    # Last: whatever else starts with api/ answers a JSON 404, not Django's HTML page.
    re_path(r"^api/", errors.api_not_found),
]
