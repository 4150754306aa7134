"""Admin task pages (a form, what it will do, one button) and the actor name of staff."""

from __future__ import annotations

from typing import Any

from django.template.response import TemplateResponse
from django.urls import reverse


def staff_actor(request) -> str:
    """How ledgers, timelines and audit rows name a staff member."""
    return f"staff:{request.user.get_username()}"


def changelist_crumb(model_admin) -> dict[str, str]:
    opts = model_admin.opts
    return {
        "text": str(opts.verbose_name_plural).capitalize(),
        "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }


def object_crumb(obj) -> dict[str, str]:
    opts = obj._meta
    return {
        "text": str(obj),
        "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
    }


def form_page(
    request,
    model_admin,
    *,
    title: str,
    form,
    submit_label: str,
    breadcrumbs: list[dict[str, str]] | None = None,
    back_url: str = "",
    **context: Any,
) -> TemplateResponse:
    """Render `admin/backoffice/form_page.html` in the admin's frame (sidebar, branding)."""
    return TemplateResponse(
        request,
        "admin/backoffice/form_page.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "title": title,
            "form": form,
            "submit_label": submit_label,
            "breadcrumbs": breadcrumbs or [changelist_crumb(model_admin)],
            "back_url": back_url,
            **context,
        },
    )


def form_add_refusal(form, error) -> None:
    """A service's refusal (a DomainError), shown on the fields it names, else above the form."""
    named = error.extra.get("errors") or {}
    for field, texts in named.items():
        name = field.split(".")[0]
        form.add_error(name if name in form.fields else None, texts)
    if not named:
        form.add_error(None, error.detail)
