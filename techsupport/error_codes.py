"""Every `code` an API error can carry (`{"message", "code", "details"}`), in one enum: stable
snake_case strings clients switch on, documented in the OpenAPI schema (`ErrorCodeEnum`). An
error with a code that is not here fails loudly (AppError, error_body)."""

from django.db import models


class ErrorCode(models.TextChoices):
    # 400
    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    MALFORMED_REQUEST = "malformed_request"
    INVALID_ID = "invalid_id"
    INVALID_PRECONDITION = "invalid_precondition"
    INVALID_COMMENT = "invalid_comment"
    UNKNOWN_CLIENT = "unknown_client"
    INVALID_CALENDAR = "invalid_calendar"
    WEAK_PASSWORD = "weak_password"
    # 401
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    INVALID_CREDENTIALS = "invalid_credentials"
    TOKEN_NOT_VALID = "token_not_valid"
    TOKEN_REVOKED = "token_revoked"
    # 403
    FORBIDDEN = "forbidden"
    NOT_ASSIGNED = "not_assigned"
    # 404
    NOT_FOUND = "not_found"
    TICKET_NOT_FOUND = "ticket_not_found"
    CLIENT_NOT_FOUND = "client_not_found"
    PROCESS_NOT_FOUND = "process_not_found"
    DEAD_LETTER_NOT_FOUND = "dead_letter_not_found"
    NOTIFICATION_NOT_FOUND = "notification_not_found"
    REPORT_NOT_FOUND = "report_not_found"
    # 405, 406, 411
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    LENGTH_REQUIRED = "length_required"
    # 409
    CONFLICT = "conflict"
    CONCURRENT_UPDATE = "concurrent_update"
    INVALID_TRANSITION = "invalid_transition"
    EMAIL_TAKEN = "email_taken"
    CLIENT_EMAIL_TAKEN = "client_email_taken"
    # 413, 414, 431
    PAYLOAD_TOO_LARGE = "payload_too_large"
    FILE_TOO_LARGE = "file_too_large"
    UNCOMPRESSED_TOO_LARGE = "uncompressed_too_large"
    TOO_MANY_PARTS = "too_many_parts"
    REQUEST_LINE_TOO_LONG = "request_line_too_long"
    REQUEST_HEADERS_TOO_LARGE = "request_headers_too_large"
    # 415
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_XLSX = "not_xlsx"
    MACRO_WORKBOOK = "macro_workbook"
    # 417, 422, 429
    EXPECTATION_FAILED = "expectation_failed"
    BUSINESS_RULE_VIOLATION = "business_rule_violation"
    INVALID_AGENT = "invalid_agent"
    AGENT_LEVEL_TOO_LOW = "agent_level_too_low"
    RATE_LIMITED = "rate_limited"
    # 5xx
    INTERNAL_ERROR = "internal_error"
    NOT_IMPLEMENTED = "not_implemented"
    SERVICE_UNAVAILABLE = "service_unavailable"
    TIMEOUT = "timeout"
    NOT_READY = "not_ready"
    ERROR = "error"  # an HTTP error with no more specific code
    # Management commands (refused bootstrap), never an HTTP answer
    ADMIN_NOT_CONFIGURED = "admin_not_configured"
    INSECURE_DEFAULT_PASSWORD = "insecure_default_password"
