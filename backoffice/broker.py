"""The Celery broker's transport, chosen from CELERY_BROKER_URL's scheme when settings load.

- `redis://` and `rediss://` (TLS): kombu's Redis transport with one client per connection
  pool (`backoffice.redis_clients:Transport`). Naming a transport makes kombu forget the
  `rediss` scheme's TLS, so it is given back here as `CELERY_BROKER_USE_SSL`, with the
  server's certificate checked (kombu alone would not check it, with a warning; redis-py,
  and so the cache on a `rediss://` CACHE_URL, checks it). TLS options in the URL win:
  `?ssl_ca_certs=/path/ca.pem`, `?ssl_cert_reqs=none` (not checked), as kombu reads them.
- `redis+socket:///path/redis.sock` (a Unix socket): kombu's own Redis transport, which the
  scheme itself names (without the shared client).
- `unix://` (redis-py's form of a socket URL, which CACHE_URL takes): no Celery transport
  reads it; refused at start with the form to use instead, rather than at the first task
  a request sends (a 500).
- anything else (`memory://`, `amqp://`...): Celery's own reading of it.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

SHARED_CLIENT_TRANSPORT = "backoffice.redis_clients:Transport"


def broker_transport(url: str) -> tuple[str | None, dict | None]:
    """(CELERY_BROKER_TRANSPORT, CELERY_BROKER_USE_SSL) for a broker URL; None: Celery's
    default. Raises ImproperlyConfigured for a URL no broker transport reads."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "redis":
        return SHARED_CLIENT_TRANSPORT, None
    if scheme == "rediss":
        return SHARED_CLIENT_TRANSPORT, {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    if scheme == "unix":
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL {url!r}: Celery reads no unix:// URL. For Redis on a Unix "
            "socket write redis+socket:///path/to/redis.sock (the cache's CACHE_URL takes "
            "unix://, the broker's does not)."
        )
    return None, None
