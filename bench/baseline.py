"""The bench's baseline endpoint: a POST as small as Django REST framework allows.

A serializer and one INSERT, no authentication, throttling or idempotency: what any
Django+DRF write costs on this machine, served by the same gunicorn, middleware,
parser, renderer and database settings as the product API (`bench.settings`). The
scenario `baseline` measures it; the checkout and browse ratios are taken against it.
Bench code only: the product's URLconf does not route it.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.models import BaselineNote

PATH = "bench/baseline"


class BaselineNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = BaselineNote
        fields = ["id", "name", "quantity", "created_at"]
        read_only_fields = ["id", "created_at"]


class BaselineView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        serializer = BaselineNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()  # the one INSERT
        return Response(serializer.data, status=status.HTTP_201_CREATED)
