"""SSRF guard: webhook URLs are http(s) and resolve only to public internet addresses.

`allow_private` (WEBHOOK_ALLOW_PRIVATE_URLS, for development) lets a URL reach loopback
and private networks, nothing more: the host is still resolved (an unresolvable host,
a bad scheme or credentials in the URL are refused all the same), and link-local
(cloud metadata), multicast, reserved and unspecified addresses stay refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for the user."""


@dataclass(frozen=True)
class WebhookTarget:
    """Where to send: the URL's parts and the vetted address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def address_is_public(address: str) -> bool:
    """False for loopback, private, link-local, reserved, multicast and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None and not address_is_public(str(embedded)):
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a webhook may connect to `address`: a public one, or (when allowed) a
    loopback or private one; link-local, multicast, reserved and unspecified never."""
    if address_is_public(address):
        return True
    if not allow_private:
        return False
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return True
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    return ip.is_private or ip in SHARED_ADDRESS_SPACE


def url_parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path with query of a webhook URL; raises UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl("The URL is not valid.") from error
    if parts.scheme not in DEFAULT_PORTS:
        raise UnsafeUrl("Use an http or https URL.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Credentials in the URL are not supported.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], path


def url_resolve(url: str, *, allow_private: bool) -> WebhookTarget:
    """Resolve the URL's host now and refuse it if any address may not be reached
    (`address_allowed`: public only, or also loopback and private when allowed).

    Every address is checked, since the connection could go to any of them; the
    caller connects to the returned `address`, so a later DNS answer cannot swap it.
    """
    scheme, host, port, path = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeUrl(f"The host {host} does not resolve.") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeUrl(f"The host {host} does not resolve.")
    for address in addresses:
        if not address_allowed(address, allow_private=allow_private):
            if allow_private:
                raise UnsafeUrl(f"The host {host} resolves to a refused address ({address}).")
            raise UnsafeUrl(f"The host {host} resolves to a non-public address ({address}).")
    return WebhookTarget(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def url_check(url: str, *, allow_private: bool) -> None:
    """Refuse a URL for a new or changed endpoint by the same rule the delivery applies at
    every send (`url_resolve`): the host is resolved whether or not private URLs are allowed."""
    url_resolve(url, allow_private=allow_private)
