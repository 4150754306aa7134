"""Top-level routes: health probes, the API app (included by name), and the Django admin."""

from django.contrib import admin
from django.urls import include, path

from backoffice.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # The shop-link redirect, the API, its schema and docs (channels_api/site_urls.py).
    path("", include("channels_api.site_urls")),
    path("admin/", admin.site.urls),
]

handler400 = "channels_api.exceptions.handler400"
handler403 = "channels_api.exceptions.handler403"
handler404 = "channels_api.exceptions.handler404"
handler500 = "channels_api.exceptions.handler500"
