"""Django admin for the channel features: shop links (with QR codes), order messages, courier
tokens, and the "Sales by channel" report page (a chart drawn server-side, CSV export).

Imported by `orders.admin`; every change goes through the services in `orders`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice.admin_readonly import ReadOnlyAdmin
from backoffice.admin_scope import ScopedAdmin, ScopedTabularInline, viewer_scope
from backoffice.exceptions import DomainError, ValidationFailed
from backoffice.money import money_format
from catalog.models import Channel
from orders.courier_access.services import fulfiller_access_create
from orders.links.qr import link_public_url, link_qr_svg
from orders.links.services import link_allotment_apply, link_deactivate
from orders.messages.services import MAX_ATTACHMENTS, attachments_clean, message_post
from orders.models import (
    FulfillerAccess,
    OrderMessage,
    SalesReport,
    ShopLink,
    ShopLinkLine,
)
from orders.reports.chart import sales_chart_svg
from orders.reports.sales import (
    GROUPS,
    report_period,
    sales_report,
    sales_report_csv,
    sales_report_filename,
)


def _staff(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


class ShopLinkLineInline(ScopedTabularInline):
    model = ShopLinkLine
    extra = 1
    raw_id_fields = ["variant"]
    fields = ["variant", "quantity", "allotment"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # lines (and their allotment) are fixed once the link exists


CAMPAIGN = ["name", "source", "post"]


class ShopLinkForm(forms.ModelForm):
    """Campaign data as fields (not JSON); other keys a link was given stay as they are."""

    campaign_name = forms.CharField(label="Campaign", max_length=200, required=False)
    campaign_source = forms.CharField(
        label="Source", max_length=200, required=False, help_text="e.g. instagram"
    )
    campaign_post = forms.CharField(
        label="Post", max_length=200, required=False, help_text="The post's id or address."
    )

    class Meta:
        model = ShopLink
        fields = [
            "channel",
            "name",
            "expires_at",
            "allotment_until",
            "usage_limit",
            "voucher",
            "active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key in CAMPAIGN:
            self.initial.setdefault(f"campaign_{key}", (self.instance.campaign or {}).get(key, ""))

    def save(self, commit: bool = True):
        campaign = dict(self.instance.campaign or {})
        for key in CAMPAIGN:
            value = self.cleaned_data.get(f"campaign_{key}", "").strip()
            if value:
                campaign[key] = value
            else:
                campaign.pop(key, None)
        self.instance.campaign = campaign
        return super().save(commit)


@admin.register(ShopLink)
class ShopLinkAdmin(ScopedAdmin):
    form = ShopLinkForm
    list_display = [
        "code",
        "name",
        "channel",
        "active",
        "expires_at",
        "allotment_until",
        "clicks",
        "carts_count",
        "orders_count",
        "qr_code",
    ]
    list_filter = ["active", "channel"]
    search_fields = ["code", "name"]
    inlines = [ShopLinkLineInline]
    actions = ["deactivate"]
    readonly_fields = [
        "code",
        "qr_code",
        "clicks",
        "carts_count",
        "orders_count",
        "created_by",
        "created_at",
        "deactivated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["channel", "allotment_until"] if obj else []
        return [*self.readonly_fields, *fixed]

    @admin.display(description="QR code")
    def qr_code(self, obj: ShopLink) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:orders_shoplink_qr", args=[obj.pk])
        return format_html('<a href="{}" download="link-{}.svg">Download</a>', url, obj.code)

    def get_urls(self):
        view = self.admin_site.admin_view(self.qr_view)
        return [path("<int:pk>/qr/", view, name="orders_shoplink_qr"), *super().get_urls()]

    def qr_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        link = ShopLink.objects.filter(pk=pk).first()
        if link is None or not self.has_view_permission(request, link):
            return HttpResponse(status=404)
        svg = link_qr_svg(link_public_url(request, link.code))
        return HttpResponse(svg, content_type="image/svg+xml")

    def save_model(self, request, obj: ShopLink, form, change: bool) -> None:
        if not change:
            obj.created_by = _staff(request)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            return
        try:
            link_allotment_apply(link=form.instance)
        except DomainError as error:
            # The link stays, without a fence: it sells from general stock.
            ShopLink.objects.filter(pk=form.instance.pk).update(allotment_until=None)
            self.message_user(
                request, f"Saved without the allotment: {error.detail}", messages.WARNING
            )

    @admin.action(description="Deactivate (release ring-fenced stock)")
    def deactivate(self, request, queryset) -> None:
        for link in queryset:
            link_deactivate(link=link, actor=_staff(request))
        self.message_user(request, f"Deactivated {queryset.count()} link(s).")


class OrderMessageForm(forms.ModelForm):
    """A staff message: its attachments as links, one a line (not JSON)."""

    attachments = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {MAX_ATTACHMENTS} https links to files or pictures, one a line.",
    )

    class Meta:
        model = OrderMessage
        fields = ["order", "body", "attachments"]

    def clean_attachments(self) -> list[str]:
        urls = [line.strip() for line in self.cleaned_data["attachments"].splitlines()]
        try:
            return attachments_clean(url for url in urls if url)
        except ValidationFailed as error:
            raise forms.ValidationError(error.errors["attachments"]) from error


@admin.register(OrderMessage)
class OrderMessageAdmin(ScopedAdmin):
    """Staff read threads (bodies as written) and post as staff; the role is never chosen."""

    form = OrderMessageForm
    list_display = ["order", "author_role", "author_name", "short_body", "created_at"]
    list_filter = ["author_role"]
    search_fields = ["order__id", "body"]
    raw_id_fields = ["order"]
    list_select_related = ["order"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["order", "body", "attachments"]
        return ["order", "author_role", "author_name", "body", "attachments", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    @admin.display(description="Message")
    def short_body(self, obj: OrderMessage) -> str:
        return obj.body[:80]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: OrderMessage, form, change: bool) -> None:
        if change:
            return
        user = request.user
        created = message_post(
            order=obj.order,
            role=OrderMessage.Role.STAFF,
            author_name=user.get_short_name() or user.get_username(),
            author_ref=_staff(request),
            body=obj.body,
            attachments=obj.attachments or [],
        )
        obj.pk = created.pk


@admin.register(FulfillerAccess)
class FulfillerAccessAdmin(ScopedAdmin):
    """The full token is shown once, in the message after creating it."""

    list_display = ["name", "prefix", "expires_at", "revoked_at", "created_at"]
    search_fields = ["name", "prefix"]
    raw_id_fields = ["orders"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "orders", "expires_at", "hours_after_completion"]
        return ["name", "prefix", "orders", "expires_at", "hours_after_completion", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["prefix", "orders", "revoked_at", "hours_after_completion"] if obj else []

    def save_model(self, request, obj: FulfillerAccess, form, change: bool) -> None:
        if change:
            obj.save()
            return
        access, token = fulfiller_access_create(
            name=obj.name,
            orders=list(form.cleaned_data["orders"]),
            expires_at=obj.expires_at,
            hours_after_completion=obj.hours_after_completion,
            actor=_staff(request),
        )
        obj.pk = access.pk
        self.message_user(
            request,
            f"Courier token (copy it now, it is not shown again): {token}",
            messages.WARNING,
        )

    def save_related(self, request, form, formsets, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)
        # On creation the service already assigned the orders.

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")


MONEY_COLUMNS = ("gross", "discounts", "revenue", "refunds", "net", "average_order_value")


def _shown(row, names: dict[str, str]) -> dict:
    """A report row as the page shows it: amounts with the currency's symbol, channel names."""
    return {
        "group": names.get(row.group, row.group),
        "orders": row.orders,
        **{name: money_format(getattr(row, name), row.currency) for name in MONEY_COLUMNS},
        "link_clicks": row.link_clicks,
        "link_orders": row.link_orders,
        "link_conversion": row.link_conversion,
    }


@admin.register(SalesReport)
class SalesReportAdmin(ReadOnlyAdmin):
    """Sales by channel or day for a period: a table, an inline SVG chart and a CSV download."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_order")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        group_by = request.GET.get("group_by") or "channel"
        scope = viewer_scope(request)  # a store manager's report is their store's
        errors: list[str] = []
        try:
            start, end = report_period(
                date_from=request.GET.get("from"), date_to=request.GET.get("to")
            )
            if group_by not in GROUPS:
                group_by = "channel"
            rows = sales_report(date_from=start, date_to=end, group_by=group_by, scope=scope)
        except DomainError as error:
            errors = [f"{field}: {' '.join(text)}" for field, text in error.extra["errors"].items()]
            start, end = report_period(date_from=None, date_to=None)
            rows = sales_report(date_from=start, date_to=end, group_by=group_by, scope=scope)
        if request.GET.get("format") == "csv":
            return self.csv_response(rows, group_by, start, end)
        names = dict(Channel.objects.values_list("code", "name")) if group_by == "channel" else {}
        context = {
            **self.admin_site.each_context(request),
            "title": "Sales report",
            "opts": self.model._meta,
            "rows": [_shown(row, names) for row in rows],
            "group_by": group_by,
            "groups": GROUPS,
            "date_from": start,
            "date_to": end,
            "errors": errors,
            "chart": sales_chart_svg(rows),
            "csv_query": f"group_by={group_by}&from={start}&to={end}&format=csv",
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/orders/sales_report.html", context)

    @staticmethod
    def csv_response(rows, group_by: str, start, end) -> HttpResponse:
        response = HttpResponse(
            sales_report_csv(rows, group_by), content_type="text/csv; charset=utf-8"
        )
        filename = sales_report_filename(group_by, start, end)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
