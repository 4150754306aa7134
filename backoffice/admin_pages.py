"""Admin task pages (a form, what it will do, one button): how they render, how a service's
refusal is shown on them, and the actor name of staff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from backoffice.exceptions import DomainError


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


def task_page(
    request,
    model_admin,
    *,
    form,
    act: Callable[[dict], str],
    done_url: str | Callable[[], str],
    title: str,
    submit_label: str,
    **page: Any,
):
    """One admin task: a valid POST runs `act(cleaned_data)` (the service call), shows the
    message it returns and goes to `done_url`; a refusal goes back on the form; any other
    request shows the form (`form_page`)."""
    if request.method == "POST" and form.is_valid():
        try:
            text = act(form.cleaned_data)
        except DomainError as error:
            form_add_refusal(form, error)
        else:
            model_admin.message_user(request, text, messages.SUCCESS)
            return redirect(done_url() if callable(done_url) else done_url)
    return form_page(
        request, model_admin, title=title, form=form, submit_label=submit_label, **page
    )
