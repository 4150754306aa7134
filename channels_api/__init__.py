"""The REST API every sales channel and integration calls: auth, serializers, views, errors."""
