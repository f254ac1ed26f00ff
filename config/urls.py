"""All routes. Each app exposes its urlpatterns; they are mounted here, in one place."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import admin_login
from techsupport import health, metrics

api_patterns = [
    path("", include("accounts.urls")),
    path("", include("tickets.urls")),
    path("", include("ingestion.urls")),
    path("", include("reports.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    # No public site: a browser opening the server lands in the back-office (or its login).
    path("", RedirectView.as_view(url=f"/{settings.ADMIN_URL}", permanent=False), name="home"),
    path("health", health.live, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("health/metrics", health.process_metrics, name="health-metrics"),
    path("metrics", metrics.metrics_view, name="prometheus-metrics"),
    path("api/", include(api_patterns)),
    path(f"{settings.ADMIN_URL}login/", admin_login, name="admin-login"),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler400 = "techsupport.views.handler400"
handler403 = "techsupport.views.handler403"
handler404 = "techsupport.views.handler404"
handler500 = "techsupport.views.handler500"
