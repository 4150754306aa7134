"""Store views for shop links: the link's products, a ready cart from it, the public redirect."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice.exceptions import DomainError
from backoffice.scopes import Scope
from channels_api.idempotency import idempotent
from channels_api.link_output import StoreLinkOutput, store_link_data
from channels_api.order_output import CartOutput
from channels_api.problems import problem_response
from channels_api.schema import raises
from channels_api.store.order_views import CartMixin
from channels_api.store.views import StoreView
from inventory.errors import InsufficientStock
from orders.errors import LinkExpired, LinkInactive, LinkUsedUp
from orders.links.counters import link_click_record
from orders.links.selectors import link_get, link_view
from orders.links.services import link_cart_create, link_check_usable
from orders.models import ShopLink

TAGS = ["store: links"]


class LinkMixin(StoreView):
    pagination_class = None

    def link(self, code: str) -> ShopLink:
        link = link_get(code=code, scope=Scope.of_channel(self.channel.pk))
        if link is None:
            raise Http404
        return link


class StoreLinkView(LinkMixin):
    @extend_schema(
        operation_id="store_links_retrieve",
        tags=TAGS,
        responses={200: StoreLinkOutput},
    )
    @raises(LinkExpired, LinkInactive, LinkUsedUp)
    def get(self, request: Request, code: str) -> Response:
        """Get a shop link's products.

        The link's lines with channel prices and the units available now. 410 when the link expired,
        was deactivated or was used up. Reads only (taps are counted by the public `/l/{code}`).
        """
        link = self.link(code)
        link_check_usable(link=link)
        return Response(store_link_data(link_view(link=link)))


class StoreLinkCartView(LinkMixin, CartMixin):
    @extend_schema(
        operation_id="store_links_cart_create",
        tags=TAGS,
        request=None,
        responses={
            201: CartOutput,
        },
    )
    @raises(LinkExpired, LinkInactive, LinkUsedUp, InsufficientStock)
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        """Make a cart from a shop link.

        A cart with the link's lines, its stock reserved (from the link's allotment first); the
        order it becomes is attributed to the link. 410 when the link can no longer be used.
        """
        cart = link_cart_create(link=self.link(code))
        return self.cart_response(str(cart.id), status.HTTP_201_CREATED)


def link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """`GET /l/<code>`: count the tap, make a fresh cart and send the shopper to it (302).

    Public: no key, no customer data in the URL. Errors answer problem+json.
    """
    if request.method != "GET":
        # Not even HEAD: link previews must not make carts out of the allotment.
        return problem_response(405, "method_not_allowed", "Use GET.")
    link = link_get(code=code)
    if link is None or not link.channel.active:
        return problem_response(404, "not_found", "Not found.")
    try:
        link_check_usable(link=link)
        if not link.channel.storefront_url_template:
            return problem_response(404, "not_found", "This channel has no storefront to open.")
        link_click_record(link=link)
        cart = link_cart_create(link=link)
    except DomainError as error:
        return problem_response(error.status, error.code, error.detail, **error.extra)
    target = link.channel.storefront_url_template.replace("{cart_id}", str(cart.id))
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
