"""Top-level routes: health probes, the API app (included by name), and the Django admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from backoffice.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # The shop-link redirect, the API, its schema and docs (channels_api/site_urls.py).
    path("", include("channels_api.site_urls")),
    path("admin/", admin.site.urls),
]

if settings.MEDIA_SERVE:
    # Product pictures from the local media folder (`docs/admin.md`: serve them from object
    # storage or the proxy in production and set MEDIA_SERVE=0).
    def media(request, path: str):
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", media))

handler400 = "channels_api.exceptions.handler400"
handler403 = "staff.errors.handler403"
handler404 = "staff.errors.handler404"
handler500 = "channels_api.exceptions.handler500"
