"""SSRF guard: webhook URLs are http(s) and resolve only to public internet addresses."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


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
    """Resolve the URL's host now and refuse it if any address is not public (unless allowed).

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
    if not allow_private:
        for address in addresses:
            if not address_is_public(address):
                raise UnsafeUrl(f"The host {host} resolves to a non-public address ({address}).")
    return WebhookTarget(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def url_check(url: str, *, allow_private: bool) -> None:
    """Refuse a URL for a new or changed endpoint; without the private check, DNS is not asked."""
    if allow_private:
        url_parse(url)
    else:
        url_resolve(url, allow_private=False)
