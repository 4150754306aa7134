"""POST one webhook: connect to the vetted address only, no redirects, a hard timeout."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from backoffice.outbox.url_guard import UnsafeUrl, url_resolve

USER_AGENT = "Backoffice-Webhooks/1"
RESPONSE_EXCERPT_BYTES = 512


@dataclass(frozen=True)
class SendResult:
    """What came back: a status code (None when no answer), the time taken and an error text."""

    status_code: int | None
    response_ms: int | None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pinned(address: str):
    """A `create_connection` that dials the vetted address whatever the Host header says."""

    def create_connection(host_port, timeout=None, source_address=None):
        return socket.create_connection((address, host_port[1]), timeout, source_address)

    return create_connection


def webhook_post(
    *, url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> SendResult:
    """POST `body` to `url`; any 2xx succeeds. Never raises: errors come back in the result.

    The host is resolved and vetted (SSRF guard) at every call, because DNS can
    change after the endpoint was created, and the connection goes to that very
    address. Redirects are not followed (a 3xx is a failure).
    """
    try:
        target = url_resolve(url, allow_private=allow_private)
    except UnsafeUrl as error:
        return SendResult(status_code=None, response_ms=None, error=f"Refused: {error}")
    if target.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connection._create_connection = _pinned(target.address)  # type: ignore[attr-defined]
    started = time.monotonic()
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = connection.getresponse()
        elapsed = int((time.monotonic() - started) * 1000)
        excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace")
    except TimeoutError:
        elapsed = int((time.monotonic() - started) * 1000)
        return SendResult(None, elapsed, f"No answer within {timeout:g} s.")
    except (OSError, http.client.HTTPException) as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return SendResult(None, elapsed, f"{type(error).__name__}: {error}"[:1000])
    finally:
        connection.close()
    result = SendResult(response.status, elapsed)
    if result.succeeded:
        return result
    return SendResult(response.status, elapsed, f"HTTP {response.status}: {excerpt}".strip())
