"""The base of every API view: query parameters it does not read are refused by name, and a
path naming an object with a NUL character finds none (no stored code or id holds one)."""

from __future__ import annotations

from django.http import Http404
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request

from channels_api.query import query_parameters_check


class ApiView(GenericAPIView):
    """Filters (`filterset_class`) and pages are read on GET; `query_parameters` names any
    other query parameter the view's GET reads itself. Checked once the caller is known,
    so a request without a key still gets its 401 first."""

    query_parameters: tuple[str, ...] = ()

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        query_parameters_check(self, request)
        if any("\x00" in str(value) for value in kwargs.values()):
            raise Http404  # PostgreSQL cannot even compare such text: it would answer DataError
