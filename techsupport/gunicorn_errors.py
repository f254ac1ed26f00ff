"""gunicorn's own error answers in the contract's JSON shape, not HTML pages.

gunicorn answers by itself, before Django sees anything, when it cannot parse a request: a NUL
or other invalid byte in a header (400), a malformed request line (400), a request line over
`limit_request_line` (414), a header over `limit_request_field_size` or more headers than
`limit_request_fields` (431), invalid chunked encoding (400), an unsupported transfer coding
(501). Its workers map the exception to a status and log it (Worker.handle_error), then write
the page through `gunicorn.util.write_error`. gunicorn.conf.py's `post_fork` hook replaces that
one writer in each worker process, whatever the worker class (sync or gthread, from the config
or the command line), so the mapping and the logging stay gunicorn's. No Django here.
"""

import json

from gunicorn import util

_ERRORS = {
    400: ("The request is malformed.", "malformed_request"),
    403: ("The request is forbidden.", "forbidden"),
    414: ("The request line (method, path and query) is too long.", "request_line_too_long"),
    417: ("The expectation in the Expect header cannot be met.", "expectation_failed"),
    431: ("The request headers are too large or too many.", "request_headers_too_large"),
    500: ("An unexpected error occurred.", "internal_error"),
    501: ("The transfer coding is not supported.", "not_implemented"),
}


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn.util.write_error's replacement: same status line and close, a JSON body.
    gunicorn's message (`mesg`) can quote the client's bytes: it stays in gunicorn's log."""
    message, code = _ERRORS.get(status_int, ("The request failed.", "error"))
    body = json.dumps({"message": message, "code": code, "details": {}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def json_errors_install() -> None:
    """In a worker process: gunicorn's refusals are written by `write_json_error`."""
    util.write_error = write_json_error
