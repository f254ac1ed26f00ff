"""Request guards that run before any view: body size, query text and the shared per-IP API
rate limit."""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

from techsupport.exceptions import PayloadTooLarge, RateLimited, error_response

logger = logging.getLogger(__name__)

# Login has its own, stricter limits (accounts/views.py); the shared limit covers the rest.
_API_LIMIT_EXEMPT = ("/api/auth/login", "/api/docs", "/api/schema")


class BodySizeLimitMiddleware:
    """Refuses an announced body over the limit before it is read (413, JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response(
                413,
                f"The request body is larger than the {settings.INGESTION_MAX_UPLOAD_MB} MB limit.",
                PayloadTooLarge.code,
                {"maxBytes": settings.MAX_REQUEST_BODY_BYTES},
            )
        return self.get_response(request)


class QueryStringGuardMiddleware:
    """Refuses a query string holding NUL (`%00`) with a 400 (JSON under /api, Django's page
    elsewhere). No client needs it and PostgreSQL refuses it in text, so a view or admin filter
    that passed it to a query failed with a 500 (the admin's choice filters did)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            raise BadRequest("The query string contains a NUL character.")
        return self.get_response(request)


class ApiRateLimitMiddleware:
    """`API_RATE_LIMIT` per client IP, shared by every /api route except login.

    If the cache (Redis) is down this limit fails open — the desk keeps working and the outage
    is logged; the login limits fail closed (503), so an outage never opens brute force."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _over_limit(request) -> bool:
        try:
            return is_ratelimited(request, group="api", key="ip", rate=settings.API_RATE_LIMIT, increment=True)
        except RedisError:
            logger.warning("api rate limit skipped: cache unavailable", exc_info=True)
            return False

    def __call__(self, request):
        limited = request.path.startswith("/api/") and not request.path.startswith(_API_LIMIT_EXEMPT)
        if limited and self._over_limit(request):
            response = error_response(429, RateLimited.message, RateLimited.code)
            response["Retry-After"] = "60"
            return response
        return self.get_response(request)


# Paths whose errors are always the contract's JSON (techsupport/views.py uses it too).
JSON_ERROR_PREFIXES = ("/api", "/health", "/metrics")
_STATUS_ERRORS = {
    400: ("The request is malformed.", "bad_request"),
    401: ("Authentication credentials were not provided or are invalid.", "not_authenticated"),
    403: ("Your role does not allow this action.", "forbidden"),
    404: ("The resource does not exist.", "not_found"),
    405: ("This method is not allowed on this resource.", "method_not_allowed"),
    413: ("The request body is too large.", "payload_too_large"),
    415: ("The media type is not supported.", "unsupported_media_type"),
    429: (RateLimited.message, RateLimited.code),
    500: ("An unexpected error occurred.", "internal_error"),
    503: ("A backing service is unavailable; retry shortly.", "service_unavailable"),
}


class JsonErrorMiddleware:
    """Under /api and /health, any error response that is not already JSON (Django's 404 page
    for an unknown route, the debug 500 page, an empty 405 from a function view, CSRF's 403)
    is replaced by the contract's JSON shape, in DEBUG too. Tracebacks never reach clients."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(JSON_ERROR_PREFIXES)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            message, code = _STATUS_ERRORS.get(status, ("The request failed.", "error"))
            replacement = error_response(status, message, code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
