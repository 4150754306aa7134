"""The address of the client at the other end of a request, for per-address limits.

By default the connection's own address (`REMOTE_ADDR`): `X-Forwarded-For` is written
by whoever sends the request, so trusting it would let anyone pick a fresh address per
request. Behind proxies, `TRUSTED_PROXY_COUNT` says how many of them append to that
header; the client is then the address the outermost of them saw, counted from the
right, where no client can write.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """`REMOTE_ADDR`, or behind TRUSTED_PROXY_COUNT proxies the client they forwarded for."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not forwarded:
        return remote
    # Fewer hops than proxies: the request skipped some, and every hop listed is theirs.
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
