"""`var/local.env`: the development settings `make run` writes, for manage.py in a plain shell.

`make run` exports DEBUG=1 for the processes it starts, but a new shell has nothing
set, and with DEBUG off Django needs a SECRET_KEY. So `make run` writes (once) a
small file of `NAME=value` lines into VAR_DIR, and manage.py applies it before
Django reads its settings: each variable the environment does not set comes from
the file. An environment that sets SECRET_KEY is configured on purpose (production,
`make test`) and never reads the file.

`python -m backoffice.local_env` writes the file when it is missing;
`python -m backoffice.local_env get NAME` prints one of its values.

With localstripe installed (a dev extra), the file also points the Stripe provider at
a local stand-in on a port of its own, which `make run` starts beside the server
(`scripts/run-dev-server.sh`, docs/payments.md).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FILE_NAME = "local.env"
# What `make run` runs with: development mode, and webhooks to a receiver on this machine.
DEVELOPMENT = {"DEBUG": "1", "WEBHOOK_ALLOW_PRIVATE_URLS": "1"}
HEADER = """\
# Written by `make run`: development settings for manage.py in a plain shell.
# manage.py reads each variable here that the environment does not set, and ignores
# this file when SECRET_KEY is set. Edit it, or delete it to use the environment alone.
"""


def var_dir() -> Path:
    """Where the embedded database, demo keys and this file live (VAR_DIR, default var/)."""
    return Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def local_env_path() -> Path:
    return var_dir() / FILE_NAME


def local_env_read(path: Path) -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments are skipped, no quoting."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def local_env_apply(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Fill in from the file what the environment leaves unset; returns what was applied."""
    path = local_env_path()
    if environ.get("SECRET_KEY") or not path.is_file():
        return {}
    applied = {name: value for name, value in local_env_read(path).items() if not environ.get(name)}
    environ.update(applied)
    return applied


def local_stripe() -> dict[str, str]:
    """Stripe against localstripe on a free loopback port, when localstripe is installed."""
    if importlib.util.find_spec("localstripe") is None:
        return {}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {
        "STRIPE_API_KEY": "sk_test_localstripe",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
        "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
    }


def local_env_write() -> Path:
    """Write the development settings file unless it exists (a user's edits are kept)."""
    path = local_env_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        values = {**DEVELOPMENT, **local_stripe()}
        lines = "".join(f"{name}={value}\n" for name, value in values.items())
        path.write_text(HEADER + lines)
    return path


if __name__ == "__main__":
    if sys.argv[1:2] == ["get"]:
        path = local_env_path()
        print(local_env_read(path).get(sys.argv[2], "") if path.is_file() else "")
    else:
        print(f"Development settings for manage.py: {local_env_write()}")
