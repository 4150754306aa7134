"""Base view for admin endpoints: a secret key, optionally limited to one channel.

A limited key's reach is a `backoffice.scopes.Scope` (that channel, no warehouse of its
own): the same table of reach that scopes staff in the Django admin decides what it sees.
"""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied

from backoffice.exceptions import ValidationFailed
from backoffice.scopes import Scope, scope_allows, scope_filter, scope_reaches_every_channel
from catalog.models import Channel
from channels_api.permissions import IsSecretKey
from channels_api.views import ApiView


class AdminView(ApiView):
    permission_classes = [IsSecretKey]

    @property
    def limited_channel(self) -> Channel | None:
        """The one channel this key may see, or None for an unrestricted key."""
        # (No key at all while the OpenAPI schema is generated.)
        return getattr(self.request.auth, "channel", None)

    @property
    def scope(self) -> Scope:
        """What this key may see: everything, or what reaches its channel."""
        channel = self.limited_channel
        return Scope.everything() if channel is None else Scope.of_channel(channel.pk)

    def scoped(self, queryset):
        """The part of a queryset this key may see."""
        return scope_filter(queryset, self.scope)

    def require_unrestricted(self) -> None:
        if self.limited_channel is not None:
            raise PermissionDenied("This action needs a secret key not limited to one channel.")

    def require_every_channel(self) -> None:
        """Writes of what applies across channels (`scope_reaches_every_channel`)."""
        if not scope_reaches_every_channel(self.scope):
            raise PermissionDenied("This action needs a secret key not limited to one channel.")

    def require_channel_access(self, channel: Channel) -> None:
        if not scope_allows(self.scope, channel):
            raise PermissionDenied("This key is limited to another channel.")

    def channel_for_write(self, code: str) -> Channel:
        """The channel a write names: 400 when unknown, 403 when this key may not use it."""
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            raise ValidationFailed({"channel": ["Unknown channel."]})
        self.require_channel_access(channel)
        return channel
