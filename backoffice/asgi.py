"""ASGI entry point: the live streams on the event loop, everything else through Django.

`uvicorn backoffice.asgi:application` serves the stream paths (server-sent events)
without a thread per open stream (`channels_api.streams.asgi`); any other path goes to
Django's ASGI handler, so one server can serve the whole app (`make run` does). In
production the WSGI server serves the API and this one the stream paths (docs/delivery.md).
"""

import os

from django.core.asgi import get_asgi_application

from backoffice.local_env import local_env_apply

# `make run` serves this: var/local.env fills in what the environment leaves unset, as
# for manage.py (a SECRET_KEY in the environment, as in production, turns it off).
local_env_apply()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django_application = get_asgi_application()

import importlib  # noqa: E402 (after Django is set up)

_streams = importlib.import_module("channels_api.streams.asgi")

from backoffice.gc_tuning import gc_tune_after_startup  # noqa: E402

gc_tune_after_startup()  # as the WSGI process does: the app is loaded


async def application(scope, receive, send):
    if scope["type"] == "lifespan":  # nothing to set up or tear down
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    route = _streams.stream_route(scope)
    if route is not None:
        view, kwargs = route
        await _streams.serve_stream(scope, receive, send, view, kwargs)
        return
    await django_application(scope, receive, send)
