"""Django-level error handlers: JSON under /api and /health, Django's HTML pages elsewhere."""

from django.views import defaults

from techsupport.exceptions import error_response
from techsupport.middleware import JSON_ERROR_PREFIXES


def _wants_json(request) -> bool:
    return request.path.startswith(JSON_ERROR_PREFIXES)


def handler400(request, exception=None):
    if _wants_json(request):
        return error_response(400, "The request is malformed.", "bad_request")
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _wants_json(request):
        return error_response(403, "Your role does not allow this action.", "forbidden")
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if _wants_json(request):
        return error_response(404, "The resource does not exist.", "not_found")
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _wants_json(request):
        return error_response(500, "An unexpected error occurred.", "internal_error")
    return defaults.server_error(request)
