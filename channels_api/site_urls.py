"""What the API app serves from the site's root: the public shop-link redirect (`/l/<code>`),
the v1 API with its OpenAPI schema and docs, and problem+json 404 for any other `/api/` path.

`backoffice/urls.py` includes this module by its dotted name, so the kernel never imports
the API app.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from channels_api.fallback import ApiNotFoundView
from channels_api.store.link_views import link_redirect

urlpatterns = [
    path("l/<str:code>", link_redirect, name="shop-link"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("channels_api.urls")),
    re_path(r"^api/", ApiNotFoundView.as_view()),
]
