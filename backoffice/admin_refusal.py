"""An admin page whose save a rule refuses after the form passed (something committed
meanwhile) undoes the whole save and says why, instead of failing with a 500."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect

from backoffice.exceptions import ValidationFailed


class RefusedSaveMessage:
    """Mixed into a ModelAdmin whose `save_model`/`save_formset` may raise ValidationFailed."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationFailed as error:  # the page's transaction is rolled back
            problems = "; ".join(
                f"{name}: {' '.join(texts)}" for name, texts in error.errors.items()
            )
            self.message_user(request, f"Nothing was saved. {problems}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
