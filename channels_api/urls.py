"""Routes of the v1 API (no trailing slashes)."""

from django.urls import path

from channels_api import payment_views
from channels_api.admin_api import catalog_views, fulfillment_views, inventory_views, webhook_views
from channels_api.admin_api import link_views as admin_link_views
from channels_api.admin_api import message_views as admin_message_views
from channels_api.admin_api import order_views as admin_order_views
from channels_api.admin_api import pos_views as admin_pos_views
from channels_api.admin_api import report_views as admin_report_views
from channels_api.delivery import admin_views as delivery_admin_views
from channels_api.delivery import courier_views
from channels_api.delivery import store_views as delivery_store_views
from channels_api.fulfiller import views as fulfiller_views
from channels_api.store import link_views, message_views, order_views, pos_views
from channels_api.store import views as store_views
from channels_api.streams import views as stream_views

app_name = "api"

store_patterns = [
    path("store/products", store_views.StoreProductListView.as_view(), name="store-products"),
    path(
        "store/products/<str:slug>",
        store_views.StoreProductDetailView.as_view(),
        name="store-product",
    ),
    path("store/shipping-methods", order_views.ShippingMethodListView.as_view()),
    path("store/carts", order_views.CartListView.as_view(), name="store-carts"),
    path("store/carts/<str:cart_id>", order_views.CartDetailView.as_view(), name="store-cart"),
    path("store/carts/<str:cart_id>/lines", order_views.CartLinesView.as_view()),
    path("store/carts/<str:cart_id>/lines/<str:line_id>", order_views.CartLineDetailView.as_view()),
    path("store/carts/<str:cart_id>/release", order_views.CartReleaseView.as_view()),
    path("store/carts/<str:cart_id>/extend", order_views.CartExtendView.as_view()),
    path("store/carts/<str:cart_id>/complete", order_views.CartCompleteView.as_view()),
    path("store/checkout", order_views.CheckoutView.as_view(), name="store-checkout"),
    path("store/orders/lookup", order_views.OrderLookupView.as_view(), name="store-order-lookup"),
    path("store/orders/<str:token>", order_views.StoreOrderView.as_view(), name="store-order"),
    path(
        "store/orders/<str:token>/payment/confirm",
        order_views.StoreOrderPaymentConfirmView.as_view(),
    ),
    path("store/orders/<str:token>/messages", message_views.StoreOrderMessagesView.as_view()),
    path("store/orders/<str:token>/stream", stream_views.StoreOrderStreamView.as_view()),
    path("store/delivery-options", delivery_store_views.DeliveryOptionsView.as_view()),
    path("store/links/<str:code>", link_views.StoreLinkView.as_view(), name="store-link"),
    path("store/links/<str:code>/cart", link_views.StoreLinkCartView.as_view()),
    path("store/pos/sales", pos_views.PosSaleView.as_view(), name="store-pos-sales"),
    path("store/pos/sales/bulk", pos_views.PosSaleBulkView.as_view(), name="store-pos-bulk"),
]

admin_patterns = [
    path("admin/channels", catalog_views.ChannelListView.as_view(), name="admin-channels"),
    path("admin/products", catalog_views.ProductListView.as_view(), name="admin-products"),
    path(
        "admin/products/<str:pk>", catalog_views.ProductDetailView.as_view(), name="admin-product"
    ),
    path("admin/webhooks", webhook_views.WebhookEndpointListView.as_view(), name="admin-webhooks"),
    path(
        "admin/webhooks/deliveries/<str:pk>/replay",
        webhook_views.WebhookDeliveryReplayView.as_view(),
        name="admin-webhook-delivery-replay",
    ),
    path(
        "admin/webhooks/<str:pk>",
        webhook_views.WebhookEndpointDetailView.as_view(),
        name="admin-webhook",
    ),
    path(
        "admin/webhooks/<str:pk>/rotate-secret",
        webhook_views.WebhookRotateSecretView.as_view(),
        name="admin-webhook-rotate-secret",
    ),
    path(
        "admin/webhooks/<str:pk>/deliveries",
        webhook_views.WebhookDeliveryListView.as_view(),
        name="admin-webhook-deliveries",
    ),
    path("admin/events", webhook_views.EventListView.as_view(), name="admin-events"),
    path("admin/events/<str:pk>", webhook_views.EventDetailView.as_view(), name="admin-event"),
    path("admin/warehouses", inventory_views.WarehouseListView.as_view(), name="admin-warehouses"),
    path(
        "admin/warehouses/<str:code>",
        inventory_views.WarehouseDetailView.as_view(),
        name="admin-warehouse",
    ),
    path("admin/stock", inventory_views.StockLevelListView.as_view(), name="admin-stock"),
    path(
        "admin/stock/adjustments",
        inventory_views.StockAdjustmentView.as_view(),
        name="admin-stock-adjustments",
    ),
    path("admin/stock/bulk", inventory_views.StockBulkView.as_view(), name="admin-stock-bulk"),
    path(
        "admin/stock/transfers",
        inventory_views.StockTransferView.as_view(),
        name="admin-stock-transfers",
    ),
    path(
        "admin/stock/movements",
        inventory_views.StockMovementListView.as_view(),
        name="admin-stock-movements",
    ),
    path(
        "admin/stock/<str:warehouse_code>/<path:sku>",
        inventory_views.StockLevelDetailView.as_view(),
        name="admin-stock-level",
    ),
    path("admin/orders", admin_order_views.OrderListView.as_view(), name="admin-orders"),
    path("admin/orders/<str:pk>", admin_order_views.OrderDetailView.as_view(), name="admin-order"),
    path("admin/orders/<str:pk>/cancel", admin_order_views.OrderCancelView.as_view()),
    path("admin/orders/<str:pk>/capture", admin_order_views.OrderCaptureView.as_view()),
    path("admin/orders/<str:pk>/refund", admin_order_views.OrderRefundView.as_view()),
    path("admin/orders/<str:pk>/notes", admin_order_views.OrderNotesView.as_view()),
    path("admin/orders/<str:pk>/fulfillments", fulfillment_views.OrderFulfillmentsView.as_view()),
    path("admin/orders/<str:pk>/returns", fulfillment_views.OrderReturnsView.as_view()),
    path("admin/fulfillments/<str:pk>", fulfillment_views.FulfillmentDetailView.as_view()),
    path("admin/fulfillments/<str:pk>/pack", fulfillment_views.FulfillmentPackView.as_view()),
    path("admin/fulfillments/<str:pk>/ship", fulfillment_views.FulfillmentShipView.as_view()),
    path("admin/fulfillments/<str:pk>/deliver", fulfillment_views.FulfillmentDeliverView.as_view()),
    path("admin/fulfillments/<str:pk>/cancel", fulfillment_views.FulfillmentCancelView.as_view()),
    path("admin/vouchers", admin_order_views.VoucherListView.as_view()),
    path("admin/vouchers/<str:code>", admin_order_views.VoucherDetailView.as_view()),
    path("admin/shipping-methods", admin_order_views.ShippingMethodListView.as_view()),
    path("admin/orders/<str:pk>/messages", admin_message_views.OrderMessagesView.as_view()),
    path("admin/fulfillers", admin_message_views.FulfillerListView.as_view()),
    path("admin/fulfillers/<str:pk>/revoke", admin_message_views.FulfillerRevokeView.as_view()),
    path("admin/pos/sales", admin_pos_views.PosSaleListView.as_view(), name="admin-pos-sales"),
    path(
        "admin/reports/sales",
        admin_report_views.SalesReportView.as_view(),
        name="admin-report-sales",
    ),
    path("admin/links", admin_link_views.LinkListView.as_view(), name="admin-links"),
    path("admin/links/<str:code>", admin_link_views.LinkDetailView.as_view(), name="admin-link"),
    path("admin/links/<str:code>/deactivate", admin_link_views.LinkDeactivateView.as_view()),
    path("admin/links/<str:code>/qr", admin_link_views.LinkQrView.as_view(), name="admin-link-qr"),
]

fulfiller_patterns = [
    path("fulfiller/orders", fulfiller_views.FulfillerOrderListView.as_view()),
    path(
        "fulfiller/orders/<str:pk>/messages", fulfiller_views.FulfillerOrderMessagesView.as_view()
    ),
    path("fulfiller/orders/<str:pk>/status", fulfiller_views.FulfillerOrderStatusView.as_view()),
]

# Called by payment providers, signed by them (no API key).
payment_patterns = [
    path(
        "payments/<str:provider>/webhook",
        payment_views.PaymentWebhookView.as_view(),
        name="payments-webhook",
    ),
]


delivery_admin_patterns = [
    path("admin/delivery-zones", delivery_admin_views.ZoneListView.as_view()),
    path("admin/delivery-zones/<str:code>", delivery_admin_views.ZoneDetailView.as_view()),
    path("admin/delivery-zones/<str:code>/slots", delivery_admin_views.ZoneSlotsView.as_view()),
    path(
        "admin/delivery-zones/<str:code>/slots/<str:pk>",
        delivery_admin_views.SlotDetailView.as_view(),
    ),
    path("admin/couriers", delivery_admin_views.CourierListView.as_view()),
    path("admin/deliveries", delivery_admin_views.DeliveryListView.as_view()),
    path("admin/deliveries/stream", stream_views.StaffStreamView.as_view()),
    path("admin/deliveries/<str:pk>", delivery_admin_views.DeliveryDetailView.as_view()),
    path("admin/deliveries/<str:pk>/assign", delivery_admin_views.DeliveryAssignView.as_view()),
    path("admin/deliveries/<str:pk>/requeue", delivery_admin_views.DeliveryRequeueView.as_view()),
    path("admin/deliveries/<str:pk>/complete", delivery_admin_views.DeliveryCompleteView.as_view()),
]

courier_patterns = [
    path("fulfiller/courier", courier_views.CourierMeView.as_view()),
    path("fulfiller/courier/availability", courier_views.CourierAvailabilityView.as_view()),
    path("fulfiller/offers/<str:pk>/accept", courier_views.OfferAcceptView.as_view()),
    path("fulfiller/offers/<str:pk>/decline", courier_views.OfferDeclineView.as_view()),
    path("fulfiller/deliveries", courier_views.CourierDeliveryListView.as_view()),
    path("fulfiller/deliveries/<str:pk>", courier_views.CourierDeliveryDetailView.as_view()),
    path("fulfiller/deliveries/<str:pk>/pickup", courier_views.CourierPickupView.as_view()),
    path("fulfiller/deliveries/<str:pk>/location", courier_views.CourierLocationView.as_view()),
    path("fulfiller/deliveries/<str:pk>/drop", courier_views.CourierDropView.as_view()),
    path("fulfiller/deliveries/<str:pk>/complete", courier_views.CourierCompleteView.as_view()),
]

urlpatterns = (
    store_patterns
    + admin_patterns
    + delivery_admin_patterns
    + fulfiller_patterns
    + courier_patterns
    + payment_patterns
)
