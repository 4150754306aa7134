"""Routes of the v1 API (no trailing slashes)."""

from django.urls import path

from channels_api.admin_api import catalog_views
from channels_api.store import views as store_views

app_name = "api"

store_patterns = [
    path("store/products", store_views.StoreProductListView.as_view(), name="store-products"),
    path(
        "store/products/<str:slug>",
        store_views.StoreProductDetailView.as_view(),
        name="store-product",
    ),
]

admin_patterns = [
    path("admin/channels", catalog_views.ChannelListView.as_view(), name="admin-channels"),
    path("admin/products", catalog_views.ProductListView.as_view(), name="admin-products"),
    path(
        "admin/products/<str:pk>", catalog_views.ProductDetailView.as_view(), name="admin-product"
    ),
]

urlpatterns = store_patterns + admin_patterns
