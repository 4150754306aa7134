"""Jobs' fixtures: the real-worker and private-broker fixtures of the outbox."""

from tests.outbox.conftest import private_redis, start_celery  # noqa: F401
