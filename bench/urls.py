"""The bench's URLconf: the product's routes, and the baseline endpoint beside them."""

from django.urls import include, path

from backoffice.urls import handler400, handler403, handler404, handler500
from bench.baseline import PATH, BaselineView

urlpatterns = [
    path(PATH, BaselineView.as_view(), name="bench-baseline"),
    path("", include("backoffice.urls")),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
