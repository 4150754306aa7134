"""The Backoffice admin site: branding, navigation by the merchant's tasks, and the home page.

The default app list orders tables by Python module (idempotency records beside
orders). Here staff find their work under the task it belongs to; the developer-facing
tables (API keys, webhooks, outbox, audit) are grouped apart at the end, and a scoped
staff member never sees them at all.
"""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

from backoffice.staff_policy import scope_of_user

# Section: (title, models by label, then extra pages as (name, URL name, permission)).
SECTIONS: list[tuple[str, str, list[str], list[tuple[str, str, str]]]] = [
    (
        "orders",
        "Orders",
        [
            "orders.order",
            "fulfillment.fulfillment",
            "fulfillment.return",
            "pos.possale",
            "orders.cart",
        ],
        [],
    ),
    (
        "products",
        "Products and stock",
        [
            "catalog.product",
            "catalog.productvariant",
            "catalog.category",
            "inventory.stocklevel",
            "inventory.stockmovement",
            "inventory.warehouse",
            "catalog.channelprice",
        ],
        [
            (
                "Set or adjust stock",
                "admin:inventory_stocklevel_set",
                "inventory.change_stocklevel",
            ),
            (
                "Move stock between warehouses",
                "admin:inventory_stocklevel_transfer",
                "inventory.transfer_stock",
            ),
        ],
    ),
    (
        "channels",
        "Channels and shop links",
        [
            "catalog.channel",
            "orders.shoplink",
            "orders.shippingmethod",
            "orders.voucher",
            "orders.fulfilleraccess",
        ],
        [],
    ),
    (
        "delivery",
        "On-demand delivery",
        ["delivery.delivery", "delivery.deliveryzone", "delivery.courier"],
        [],
    ),
    ("messages", "Messages", ["orders.ordermessage", "fulfillment.notification"], []),
    ("reports", "Reports", ["orders.salesreport"], []),
    ("staff", "Staff and roles", ["auth.user", "auth.group"], []),
    (
        "developers",
        "Developers",
        [
            "channels_api.apikey",
            "outbox.webhookendpoint",
            "outbox.webhookdelivery",
            "outbox.outboxevent",
            "audit.auditentry",
            "admin.logentry",
        ],
        [],
    ),
]


# What a merchant calls a table, where Django's name for it is a developer's.
NAMES = {
    "inventory.stockmovement": "Stock ledger",
    "orders.salesreport": "Sales report",
    "orders.fulfilleraccess": "Courier access",
    "fulfillment.notification": "Customer emails",
    "auth.user": "Staff accounts",
    "auth.group": "Roles",
    "admin.logentry": "Changes made in this admin",
    "pos.possale": "Till uploads",
}


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Backoffice"
    site_title = "Backoffice"
    index_title = "Today"
    # "View site" points at a storefront when there is exactly one to point at (each_context).
    site_url = None
    index_template = "admin/index.html"

    def each_context(self, request):
        context = super().each_context(request)
        context["site_url"] = self._storefront(request)
        return context

    @staticmethod
    def _storefront(request) -> str | None:
        """The storefront of the one channel a scoped staff member works for, if it has one."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        scope = scope_of_user(user)
        if scope.channel_ids is None or len(scope.channel_ids) != 1:
            return None
        from catalog.models import Channel

        channel = Channel.objects.filter(pk__in=scope.channel_ids).first()
        return (channel.storefront_url or None) if channel else None

    def get_app_list(self, request, app_label=None):
        """Sections of the merchant's tasks instead of Python apps (an app's own page keeps
        Django's list of that app)."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                label = model["model"]._meta.label_lower
                models[label] = {**model, "name": NAMES.get(label, model["name"])}
        sections = []
        placed: set[str] = set()
        for label, title, names, pages in SECTIONS:
            entries = [models[name] for name in names if name in models]
            placed.update(names)
            entries += self._pages(request, pages)
            if entries:
                sections.append(self._section(label, title, entries))
        others = [model for name, model in models.items() if name not in placed]
        if others:
            sections.append(self._section("other", "Other", others))
        return sections

    @staticmethod
    def _section(label: str, title: str, models: list[dict]) -> dict:
        return {
            "name": title,
            "app_label": label,
            "app_url": "",
            "has_module_perms": True,
            "models": models,
        }

    @staticmethod
    def _pages(request, pages: list[tuple[str, str, str]]) -> list[dict]:
        entries = []
        for name, url_name, permission in pages:
            if not request.user.has_perm(permission):
                continue
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            entries.append(
                {
                    "name": name,
                    "object_name": url_name.rsplit("_", 1)[-1],
                    "admin_url": url,
                    "add_url": None,
                    "view_only": False,
                    "perms": {},
                }
            )
        return entries

    def index(self, request, extra_context=None):
        from staff.dashboard import dashboard

        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "dashboard": dashboard(request),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, self.index_template, context)
