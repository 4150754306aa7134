"""The base of every API view: query parameters it does not read are refused by name."""

from __future__ import annotations

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
