"""Request guards that run before any view: body size and type, query text and the shared
per-IP API rate limit."""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest
from redis.exceptions import RedisError

from techsupport.exceptions import PayloadTooLarge, RateLimited, app_error_response, error_response
from techsupport.rate_limits import api_rate_limit_wait

logger = logging.getLogger(__name__)

# Login has its own, stricter limits (accounts/views.py); the shared limit covers the rest.
_API_LIMIT_EXEMPT = ("/api/auth/login", "/api/docs", "/api/schema")


def _small_body_routes() -> dict[str, tuple[str, ...]]:
    """The sign-in endpoints (anonymous, except register) and the media types each takes."""
    routes = {f"/api/auth/{name}": ("application/json",) for name in ("login", "refresh", "logout", "register")}
    # The admin's login form; browsers send it urlencoded, scripts and test clients multipart.
    routes[f"/{settings.ADMIN_URL}login/"] = ("application/x-www-form-urlencoded", "multipart/form-data")
    return routes


def _content_length(request) -> int | None:
    """The announced body length; None for a body sent without one (chunked)."""
    announced = request.META.get("CONTENT_LENGTH")
    if not announced and "HTTP_TRANSFER_ENCODING" in request.META:
        return None
    try:
        return max(int(announced or 0), 0)
    except ValueError:
        return 0


def _too_large(limit: int, what: str, code: str = "payload_too_large"):
    return error_response(413, f"The request body is larger than {what}.", code, {"maxBytes": limit})


class BodySizeLimitMiddleware:
    """Refuses a body before anything reads it (JSON errors): over the upload limit, 413; on
    the sign-in endpoints, a media type other than theirs, 415 (an anonymous 45 MB multipart
    login was parsed and spooled to disk), or over AUTH_MAX_BODY_BYTES, 413; in the admin, which
    takes no files, over DATA_UPLOAD_MAX_MEMORY_SIZE, 413 (CSRF checks parse a POST before the
    admin asks who is there); without a Content-Length, 411 — Django reads such a body as
    empty, so it would be silently dropped."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.small_body_routes = _small_body_routes()
        self.admin_prefix = f"/{settings.ADMIN_URL}"

    def __call__(self, request):
        return self._refusal(request) or self.get_response(request)

    def _refusal(self, request):
        length = _content_length(request)
        if length is None:
            return error_response(411, "Send the request body with a Content-Length header.", "length_required")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            what = f"the {settings.INGESTION_MAX_UPLOAD_MB} MB limit"
            return _too_large(settings.MAX_REQUEST_BODY_BYTES, what, PayloadTooLarge.code)
        media_types = self.small_body_routes.get(request.path)
        if media_types is not None:
            return self._small_body_refusal(request, length, media_types)
        if request.path.startswith(self.admin_prefix) and length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "the back-office's limit")
        return None

    @staticmethod
    def _small_body_refusal(request, length: int, media_types: tuple[str, ...]):
        if (length or request.content_type) and request.content_type not in media_types:
            return error_response(
                415,
                f"This endpoint takes {' or '.join(media_types)}.",
                "unsupported_media_type",
                {"expected": list(media_types)},
            )
        if length > settings.AUTH_MAX_BODY_BYTES:
            return _too_large(
                settings.AUTH_MAX_BODY_BYTES, f"the {settings.AUTH_MAX_BODY_BYTES}-byte limit of this endpoint"
            )
        return None


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
    """`API_RATE_LIMIT` per client IP, shared by every /api route except login. With Redis the
    counter moves in one pipelined round trip that also reads the caller's auth state
    (techsupport/rate_limits.py `api_rate_limit_wait`).

    If the cache (Redis) is down this limit fails open — the desk keeps working and the outage
    is logged; the login limits fail closed (503), so an outage never opens brute force."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _wait(request) -> int | None:
        try:
            return api_rate_limit_wait(request, group="api", key="ip", rate=settings.API_RATE_LIMIT)
        except RedisError:
            logger.warning("api rate limit skipped: cache unavailable", exc_info=True)
            return None

    def __call__(self, request):
        limited = request.path.startswith("/api/") and not request.path.startswith(_API_LIMIT_EXEMPT)
        wait = self._wait(request) if limited else None
        if wait is not None:
            return app_error_response(RateLimited(retry_after=wait))
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
