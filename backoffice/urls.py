"""Top-level routes: the API, its schema and docs, the Django admin and health probes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.health import healthz, readyz
from channels_api.fallback import ApiNotFoundView
from channels_api.store.link_views import link_redirect

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("l/<str:code>", link_redirect, name="shop-link"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("channels_api.urls")),
    re_path(r"^api/", ApiNotFoundView.as_view()),
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
