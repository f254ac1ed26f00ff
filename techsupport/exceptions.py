"""The application error and the one renderer of every API error.

Every error under /api and /health is JSON: {"message", "code", "details"}. Services raise
`AppError` (or a subclass); DRF's and Django's own exceptions are mapped here too, so a client
can always switch on `code`.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from kombu.exceptions import OperationalError as KombuOperationalError
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback
from rest_framework_simplejwt.exceptions import InvalidToken

from techsupport.error_codes import ErrorCode

logger = logging.getLogger(__name__)


class AppError(Exception):
    status = 400
    code = ErrorCode.BAD_REQUEST
    message = "The request is invalid."

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None, status=None):
        self.message = message or self.message
        self.code = ErrorCode(code or self.code)  # an unknown code fails here, loudly
        self.status = status or self.status
        self.details = details or {}
        self.headers: dict[str, str] = {}
        super().__init__(self.message)


class ValidationFailed(AppError):
    status, code, message = 400, ErrorCode.VALIDATION_ERROR, "The request is invalid."


class NotAuthenticated(AppError):
    status, code, message = (
        401,
        ErrorCode.NOT_AUTHENTICATED,
        "Authentication credentials were not provided or are invalid.",
    )


class Forbidden(AppError):
    status, code, message = 403, ErrorCode.FORBIDDEN, "Your role does not allow this action."


class NotFound(AppError):
    status, code, message = 404, ErrorCode.NOT_FOUND, "The resource does not exist."


class Conflict(AppError):
    status, code, message = 409, ErrorCode.CONFLICT, "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status, code, message = 413, ErrorCode.FILE_TOO_LARGE, "The request body is too large."


class UnsupportedMedia(AppError):
    status, code, message = 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "The file type is not supported."


class BusinessRuleViolation(AppError):
    status, code, message = 422, ErrorCode.BUSINESS_RULE_VIOLATION, "A business rule rejects this request."


class RateLimited(AppError):
    status, code, message = 429, ErrorCode.RATE_LIMITED, "Too many requests; slow down and retry later."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None):
        """`retry_after`: seconds until the refusing limit's window ends (techsupport/rate_limits.py),
        sent as the Retry-After header and `details.retryAfter`."""
        super().__init__(message, details={"retryAfter": retry_after} if retry_after else None)
        if retry_after:
            self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(AppError):
    status, code, message = 503, ErrorCode.SERVICE_UNAVAILABLE, "A backing service is unavailable; retry shortly."


def error_body(message: str, code: str, details=None) -> dict:
    """The one error shape. `code` must be one of ErrorCode (ValueError otherwise)."""
    return {"message": message, "code": ErrorCode(code).value, "details": details or {}}


def error_response(status: int, message: str, code: str, details=None) -> JsonResponse:
    return JsonResponse(error_body(message, code, details), status=status)


def app_error_response(exc: AppError) -> JsonResponse:
    """The response of an AppError raised outside DRF (middleware), headers included."""
    response = error_response(exc.status, exc.message, exc.code, exc.details)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _flatten_validation(detail, prefix="") -> dict:
    """DRF's nested ErrorDetail structure → {"field": "message", "field.sub": "message"}."""
    out = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else f"{prefix}{key}"
            out.update(_flatten_validation(value, f"{name}."))
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix.rstrip(".") or "non_field_errors"] = " ".join(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                out.update(_flatten_validation(item, f"{prefix}{index}."))
    else:
        out[prefix.rstrip(".") or "non_field_errors"] = str(detail)
    return out


_DRF_CODES = {
    drf.NotAuthenticated: (401, "not_authenticated"),
    drf.AuthenticationFailed: (401, "authentication_failed"),
    drf.PermissionDenied: (403, "forbidden"),
    drf.NotFound: (404, "not_found"),
    drf.MethodNotAllowed: (405, "method_not_allowed"),
    drf.NotAcceptable: (406, "not_acceptable"),
    drf.UnsupportedMediaType: (415, "unsupported_media_type"),
    drf.Throttled: (429, "rate_limited"),
    drf.ParseError: (400, "malformed_request"),
}


def to_error(exc: Exception) -> tuple[int, dict, dict]:
    """Map any exception to (status, body, headers)."""
    headers = {}
    if isinstance(exc, AppError):
        return exc.status, error_body(exc.message, exc.code, exc.details), dict(exc.headers)
    if isinstance(exc, Ratelimited):
        return 429, error_body(RateLimited.message, RateLimited.code), headers
    if isinstance(exc, InvalidToken):
        return 401, error_body("The token is invalid or expired.", "token_not_valid"), {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, drf.ValidationError):
        return 400, error_body("The request is invalid.", "validation_error", _flatten_validation(exc.detail)), headers
    if isinstance(exc, drf.APIException):
        status, code = next(
            ((s, c) for cls, (s, c) in _DRF_CODES.items() if isinstance(exc, cls)),
            (exc.status_code, "error"),
        )
        message = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, drf.Throttled) and exc.wait:
            headers["Retry-After"] = str(int(exc.wait))
        return status, error_body(str(message), code), headers
    if isinstance(exc, Http404):
        return 404, error_body(NotFound.message, NotFound.code), headers
    if isinstance(exc, DjangoPermissionDenied):
        return 403, error_body(Forbidden.message, Forbidden.code), headers
    if isinstance(exc, RequestDataTooBig):
        return 413, error_body(PayloadTooLarge.message, "payload_too_large"), headers
    if isinstance(exc, DatabaseError) and "statement timeout" in str(exc):
        logger.exception("database timeout")
        return 504, error_body("The database did not answer in time.", "timeout", {"service": "database"}), headers
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.exception("database unavailable")
        return 503, error_body(ServiceUnavailable.message, ServiceUnavailable.code, {"service": "database"}), headers
    if isinstance(exc, (RedisError, KombuOperationalError)):
        logger.exception("redis unavailable")
        return 503, error_body(ServiceUnavailable.message, ServiceUnavailable.code, {"service": "redis"}), headers
    if isinstance(exc, PyMongoError):
        logger.exception("document store unavailable")
        return 503, error_body(ServiceUnavailable.message, ServiceUnavailable.code, {"service": "mongo"}), headers
    logger.exception("unhandled error", exc_info=exc)
    return 500, error_body("An unexpected error occurred.", "internal_error"), headers


def api_exception_handler(exc, context):
    status, body, headers = to_error(exc)
    set_rollback()
    return Response(body, status=status, headers=headers)
