"""The bench's settings: production's (`backoffice.settings`, read from the same
environment), plus the bench's own app and URLconf for its baseline endpoint.

`make bench` runs gunicorn and its in-process steps with these, so the baseline and the
product API are served by the same process under the same settings.
"""

from backoffice.settings import *  # noqa: F403
from backoffice.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]
ROOT_URLCONF = "bench.urls"
