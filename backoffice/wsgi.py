"""WSGI entry point (`gunicorn backoffice.wsgi`)."""

import os

from django.core.wsgi import get_wsgi_application

from backoffice.gc_tuning import gc_tune_after_startup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
application = get_wsgi_application()
gc_tune_after_startup()
