"""Unknown paths under /api/ answer problem+json 404, in DEBUG too."""

from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class ApiNotFoundView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request = args, kwargs, self.initialize_request(request)
        self.headers = self.default_response_headers
        response = self.handle_exception(NotFound("No such endpoint."))
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
