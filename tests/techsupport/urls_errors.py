"""Routes that fail on purpose, mounted only by tests/techsupport/test_errors.py."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns


class ExplodingApiView(APIView):
    permission_classes = [AllowAny]
    schema = None  # not part of the product: keep it out of the OpenAPI document

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


def exploding_django_view(request):
    raise RuntimeError("secret internals")


urlpatterns = [
    path("api/test/boom", ExplodingApiView.as_view()),
    path("api/test/boom-plain", exploding_django_view),
    path("", include(real_urlpatterns)),
]

handler404 = "techsupport.views.handler404"
handler500 = "techsupport.views.handler500"
